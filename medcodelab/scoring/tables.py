"""Score a SQL answer by its result: run it on the RCM dataset, locked down, and compare tables.

An analytics question is answered with one SQL query, written out as text. The grader runs it
in its own process on a connection that can only read the dataset: the file is opened read-only,
file and network access are off, the settings are locked, and a query that runs past its time
limit is interrupted. Only one SELECT (or WITH ... SELECT) statement is accepted.

Results are compared as tables: the same number of columns (names do not matter, order does),
the same rows (in any order unless the question asks for an order), numbers equal within a
tolerance, text equal after trimming, dates by their ISO form. Partial credit: a query that
runs earns a quarter, the right shape (columns and row count) half, and the rest is shared
by the rows that match.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import threading
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb

from .extract import literal

MAX_SQL = 10_000  # characters
MAX_ROWS = 10_000
TIMEOUT = 10.0  # seconds
LOCKED = {"enable_external_access": "false", "memory_limit": "1GB", "threads": "1",
          "lock_configuration": "true"}
RUNS, SHAPE = 0.25, 0.5


class QueryError(ValueError):
    """The query could not be run; the message is for the learner."""


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]


def read_sql_answer(source: str, variable: str) -> tuple[str | None, str | None]:
    """The query an answer cell assigns to ``variable``, read as data (as the grader reads it)."""
    value, problem = literal(source, variable, '"""SELECT ..."""')
    if problem:
        return None, problem
    if not isinstance(value, str):
        return None, (f"`{variable}` must be your SQL query as text, in triple quotes: "
                      f"{variable} = \"\"\"SELECT ...\"\"\"")
    return value, None


def locked_connection(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path`` that cannot touch files, change settings or write."""
    return duckdb.connect(str(path), read_only=True, config=dict(LOCKED))


def run(conn: duckdb.DuckDBPyConnection, sql: str, timeout: float = TIMEOUT, max_rows: int = MAX_ROWS) -> Result:
    """Run one SELECT on ``conn`` (see ``locked_connection``); raises ``QueryError`` saying why not."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("the answer is empty: write one SQL query as text")
    if len(sql) > MAX_SQL:
        raise QueryError(f"the query is over {MAX_SQL:,} characters")
    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"the query is not valid SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"write exactly one query; this has {len(statements)} statements")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError(f"only a SELECT query is accepted, not {statements[0].type.name}")
    timer = threading.Timer(timeout, conn.interrupt)
    timer.start()
    try:
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(max_rows + 1)
    except duckdb.InterruptException:
        raise QueryError(f"the query ran past the {timeout:g}-second limit; look for a join without a "
                         "condition") from None
    except duckdb.Error as exc:
        raise QueryError(f"the query failed: {_first_line(exc)}") from None
    finally:
        timer.cancel()
    if len(rows) > max_rows:
        raise QueryError(f"the query returns more than {max_rows:,} rows; the answer is a summary")
    return Result(columns, [tuple(r) for r in rows])


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _value(value, tolerance: float):
    """A comparable form of one cell: numbers rounded to the tolerance, text trimmed, dates ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        return round(number / tolerance) if tolerance else number
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


def _close(a, b, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= 1  # within one tolerance step either side of a rounding boundary
    return a == b


def _row_key(row: tuple, tolerance: float) -> tuple:
    return tuple(_value(v, tolerance) for v in row)


@dataclass
class TableScore:
    earned: float
    possible: float = 1.0
    notes: list[str] = field(default_factory=list)
    explanation: str = ""
    verdicts: list = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return 0.0 if self.possible <= 0 else max(0.0, min(1.0, self.earned / self.possible))

    @property
    def perfect(self) -> bool:
        return self.fraction >= 0.9999

    def as_dict(self) -> dict:
        return {"earned": round(self.earned, 4), "possible": self.possible, "fraction": round(self.fraction, 4),
                "notes": self.notes}

    def as_text(self, summary: bool = True) -> str:
        lines = [f"{round(100 * self.fraction)}% of the question"] if summary else []
        lines += [f"{'✔' if self.perfect else '✘'} {note}" for note in self.notes]
        if self.explanation:
            lines.append(f"why: {self.explanation.strip()}")
        return "\n".join(lines)

    def as_html(self, summary: bool = True) -> str:
        colour = "#1b7f3b" if self.perfect else "#a66a00" if self.earned > 0 else "#b3261e"
        head = f"<b>{round(100 * self.fraction)}% of the question</b>" if summary else ""
        items = "".join(f"<li style='color:{colour}'>{escape(n)}</li>" for n in self.notes)
        why = f"<p>Why: {escape(self.explanation.strip())}</p>" if self.explanation else ""
        return f"<div class='mcl-score' role='status'>{head}<ul>{items}</ul>{why}</div>"

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.as_html()


def compare(got: Result, want: Result, order_matters: bool = False, tolerance: float = 0.005,
            explanation: str = "") -> TableScore:
    """Score ``got`` against ``want``. Feedback describes the learner's result, never the key's values."""
    if len(got.columns) != len(want.columns):
        return TableScore(RUNS, notes=[f"the query runs, but returns {len(got.columns)} column(s); the question "
                                       f"asks for {len(want.columns)}"], explanation=explanation)
    if len(got.rows) != len(want.rows):
        return TableScore(RUNS, notes=[f"the query runs, but returns {len(got.rows)} row(s); the question's answer "
                                       f"has {len(want.rows)}"], explanation=explanation)
    mine = [_row_key(r, tolerance) for r in got.rows]
    theirs = [_row_key(r, tolerance) for r in want.rows]
    if order_matters:
        matched = sum(all(_close(a, b, tolerance) for a, b in zip(m, t)) for m, t in zip(mine, theirs))
        unmatched = [got.rows[i] for i, (m, t) in enumerate(zip(mine, theirs))
                     if not all(_close(a, b, tolerance) for a, b in zip(m, t))]
    else:
        left = list(theirs)
        matched, unmatched = 0, []
        for raw, row in zip(got.rows, mine):
            hit = next((j for j, t in enumerate(left) if all(_close(a, b, tolerance) for a, b in zip(row, t))), None)
            if hit is None:
                unmatched.append(raw)
            else:
                matched += 1
                left.pop(hit)
    if not want.rows:
        return TableScore(1.0, notes=["the result matches (no rows, as expected)"], explanation=explanation)
    share = matched / len(want.rows)
    notes = [f"{matched} of {len(want.rows)} row(s) match" + (" in the order asked for" if order_matters else "")]
    if unmatched:
        notes.append(f"for example, your row {tuple(_show(v) for v in unmatched[0])} is not in the answer")
    return TableScore(SHAPE + (1 - SHAPE) * share, notes=notes, explanation=explanation)


def _show(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, decimal.Decimal):
        return float(round(value, 4))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def score_sql(sql: str, key_sql: str, conn: duckdb.DuckDBPyConnection, order_matters: bool = False,
              tolerance: float = 0.005, explanation: str = "", timeout: float = TIMEOUT) -> TableScore:
    """Run the learner's query and the key's on ``conn`` and compare (0 if the learner's fails)."""
    want = run(conn, key_sql, timeout=max(timeout, 60.0))
    try:
        got = run(conn, sql, timeout=timeout)
    except QueryError as exc:
        message = str(exc)
        return TableScore(0.0, notes=[message[:1].upper() + message[1:]], explanation=explanation)
    return compare(got, want, order_matters, tolerance, explanation)
