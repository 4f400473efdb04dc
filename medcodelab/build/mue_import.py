"""``medcodelab import-mue FILE``: the official CMS Practitioner Services MUE table, every code.

The lab ships MUE rows only where a limit follows from a code's definition or a stated policy
(``data/reference/mue.yaml``); CMS publishes the whole table each quarter, and the lab may not
download it at run time. A site that downloads it (the ZIP from the CMS NCCI MUE page, or the
CSV inside) imports it here. It is normalised into ``data/licensed/mue_practitioner.tsv``
(git-ignored: the file carries CPT codes under the AMA's notice), and the next build gives every
code in it the official value and MAI. Where the lab's teaching row says otherwise, the official
value wins in claim checks, and ``lookup`` shows both; the case bank is validated against the
official values, so a key that breaks a current MUE stops the build with its name.

The CSV, as CMS lays it out: a quoted AMA notice (it may span several lines), a header row whose
first cell starts with "HCPCS", a column "Practitioner Services MUE Values", an "MUE Adjudication
Indicator" such as "2 Date of Service Edit: Policy" (the digit is the MAI), and "MUE Rationale".
The quarter comes from the file name (``..._Eff_07-01-2026.csv``) or ``--effective``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
import zlib
from collections import Counter
from pathlib import Path

from . import reference
from .licensed import MAX_BYTES, ImportProblem, install, remove_import

LICENSED_MUE = "mue_practitioner.tsv"
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_VALUE = re.compile(r"^[0-9]{1,4}$")  # ASCII digits; no real MUE reaches four digits
_EFFECTIVE = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)
FIRST_MUE_YEAR = 2007  # CMS began publishing MUEs in January 2007


def _decode(raw: bytes) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # "Unicode text" as some spreadsheet programs save it
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _binary(raw: bytes, name: str) -> None:
    """Refuse a workbook, PDF or other binary file given where text is expected."""
    if raw[:2] == b"PK":
        raise ImportProblem(f"{name} is an Excel workbook or a ZIP, not a CSV: give the .csv file (or name the ZIP "
                            "with a .zip ending)")
    if raw[:5] == b"%PDF-":
        raise ImportProblem(f"{name} is a PDF, not the CMS table as CSV")
    if b"\x00" in raw[:4096] and raw[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportProblem(f"{name} is a binary file, not a CSV")


def _zip_members(source: Path, suffix: str) -> list[str]:
    """Data files of a ZIP with ``suffix``, leaving out macOS resource forks and folders."""
    with zipfile.ZipFile(source) as archive:
        return [n for n in archive.namelist() if n.lower().endswith(suffix) and not n.endswith("/")
                and "__MACOSX/" not in n and not Path(n).name.startswith("._")]


def read_member(source: Path, name: str, limit: int) -> bytes:
    """One member of a ZIP, refusing damage, encryption and sizes above ``limit`` with a clear reason."""
    try:
        with zipfile.ZipFile(source) as archive:
            info = archive.getinfo(name)
            if info.file_size > limit:
                raise ImportProblem(f"{name} would unpack to more than {limit // 1_000_000} MB")
            with archive.open(info) as member:
                data = member.read(limit + 1)
            if len(data) > limit:
                raise ImportProblem(f"{name} unpacks to more than {limit // 1_000_000} MB")
            return data
    except zipfile.BadZipFile:
        raise ImportProblem(f"{source.name} is not a readable ZIP file") from None
    except (zlib.error, EOFError):
        raise ImportProblem(f"{source.name} is damaged ({name} does not unpack): download it again") from None
    except NotImplementedError:
        raise ImportProblem(f"{source.name} uses a compression this lab cannot read: unzip it yourself and give "
                            "the extracted file") from None
    except RuntimeError as exc:  # zipfile's word for a password-protected member
        raise ImportProblem(f"{source.name} cannot be read ({exc}); if it is password-protected, unzip it yourself "
                            "and give the extracted file") from None


def parse(text: str) -> tuple[list[tuple[str, int, int, str]], dict[str, int], Counter, dict[str, str]]:
    """Rows (code, value, mai, rationale), the codes CMS gives MUE 0, skipped rows by reason, and a
    sample line per reason (a code listed twice with different values counts as a conflict)."""
    csv.field_size_limit(100_000)  # a real cell is a few words; a runaway quote is a broken file
    reader = csv.reader(io.StringIO(text))
    header = None
    try:
        for row in reader:
            if row and " ".join(row[0].split()).upper().startswith("HCPCS"):
                header = [" ".join(cell.split()).lower() for cell in row]
                break
    except csv.Error as exc:
        raise ImportProblem(f"not a readable CSV ({exc}): is this the CMS MUE table?") from None
    if header is None:
        raise ImportProblem("no header row starting with 'HCPCS/CPT Code': is this the CMS MUE table (CSV)?")
    if len(header) == 1:
        found = ";" if ";" in header[0] else "tab" if "\t" in header[0] else None
        raise ImportProblem("the header has one column: the file is not comma-separated"
                            + (f" (it uses {found})" if found else "") + "; use the CSV as CMS publishes it")

    def column(*words: str) -> int:
        for i, name in enumerate(header):
            if all(w in name for w in words):
                return i
        raise ImportProblem(f"the header has no column for {' '.join(words)!r}: {header}")

    value_col = column("mue values")
    if "practitioner" not in header[value_col]:
        raise ImportProblem(f"this is the {header[value_col]!r} table; the lab's claims are professional claims, "
                            "so import the Practitioner Services MUE table")
    mai_col, why_col = column("adjudication indicator"), column("rationale")
    rows: dict[str, tuple[str, int, int, str]] = {}
    zero: dict[str, int] = {}
    skipped: Counter = Counter()
    sample: dict[str, str] = {}

    def skip(reason: str, row: list[str]) -> None:
        skipped[reason] += 1
        sample.setdefault(reason, ",".join(row)[:80])

    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(value_col, mai_col, why_col):
                skip("too few columns", row)
                continue
            code = row[0].strip().upper()
            value, mai = row[value_col].strip(), row[mai_col].strip()[:1]
            if not _CODE.match(code):
                skip("not a CPT/HCPCS code", row)
            elif not _VALUE.match(value):
                skip("value not a whole number from 0 to 9999", row)
            elif mai not in {"1", "2", "3"}:
                skip("MAI not 1, 2 or 3", row)
            elif code in rows or code in zero:
                before = rows[code][1:3] if code in rows else (0, zero[code])
                if before != (int(value), int(mai)):
                    skip("code listed again with another value (first kept)", row)
            elif int(value) == 0:  # CMS's way of saying a practitioner may not report the code at all
                zero[code] = int(mai)
            else:
                rows[code] = (code, int(value), int(mai), " ".join(row[why_col].split()))
    except csv.Error as exc:
        raise ImportProblem(f"the CSV breaks off after {len(rows) + len(zero):,} rows ({exc}): is the file "
                            "complete and unchanged?") from None
    return list(rows.values()), zero, skipped, sample


def _read(source: Path) -> tuple[str, str, str]:
    """(the CSV text, its name, the file given), from a CSV or the CMS ZIP."""
    if source.is_dir():
        raise ImportProblem(f"{source} is a folder: name the CMS ZIP or the CSV in it")
    if not source.exists():
        raise ImportProblem(f"{source} does not exist")
    if source.stat().st_size > MAX_BYTES:
        raise ImportProblem(f"{source} is larger than {MAX_BYTES // 1_000_000} MB; is it the MUE table?")
    if source.suffix.lower() in {".xlsx", ".xls"}:
        raise ImportProblem("the lab reads the CSV: use the .csv file in the same CMS ZIP (or the ZIP itself)")
    if source.suffix.lower() == ".zip":
        try:
            names = _zip_members(source, ".csv")
        except zipfile.BadZipFile:
            raise ImportProblem(f"{source.name} is not a readable ZIP file") from None
        chosen = [n for n in names if "practitioner" in n.lower()] or names
        if not names:
            raise ImportProblem(f"{source.name} holds no CSV file (the lab reads the CSV, not the .xlsx): is it the "
                                "MUE table ZIP?")
        if len(chosen) != 1:
            raise ImportProblem(f"{source.name} holds {len(chosen)} candidate CSV files ({', '.join(chosen)}); "
                                "unzip it and import the Practitioner Services CSV")
        raw = read_member(source, chosen[0], MAX_BYTES)
        _binary(raw, chosen[0])
        return _decode(raw), Path(chosen[0]).name, source.name
    raw = source.read_bytes()
    _binary(raw, source.name)
    return _decode(raw), source.name, source.name


def _quarter(names: list[str]) -> dt.date | None:
    for name in names:
        match = _EFFECTIVE.search(name)
        if match:
            month, day, year = (int(g) for g in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:
                raise ImportProblem(f"the date in {name!r} is not a real date: give --effective YYYY-MM-DD") from None
    return None


def import_mue(source: Path, effective: str | None = None) -> str:
    text, name, given = _read(source)
    named = _quarter([name, given])
    if effective:
        try:
            start = dt.date.fromisoformat(effective)
        except ValueError:
            raise ImportProblem(f"--effective {effective!r} is not a date (YYYY-MM-DD)") from None
        if named and named != start:
            raise ImportProblem(f"--effective {start.isoformat()} contradicts the file name, which says "
                                f"{named.isoformat()}: check which quarter this table is")
    elif named:
        start = named
    else:
        raise ImportProblem(f"cannot tell the quarter from {name!r}: give --effective YYYY-MM-DD "
                            "(the date the table took effect)")
    if not dt.date(FIRST_MUE_YEAR, 1, 1) <= start <= dt.date.today() + dt.timedelta(days=366):
        raise ImportProblem(f"{start.isoformat()} is not a plausible MUE quarter (MUEs began in {FIRST_MUE_YEAR})")
    rows, zero, skipped, sample = parse(text)
    if not rows:
        raise ImportProblem(f"no MUE rows in {name} (a code, a whole-number value and an MAI of 1, 2 or 3)"
                            + "".join(f"; {n:,} {why}, e.g. {sample[why]!r}" for why, n in skipped.most_common(3)))
    target = reference.licensed_folder() / LICENSED_MUE
    header = f"# effective\t{start.isoformat()}\t{name}\n"
    lines = [f"{c}\t{v}\t{m}\t{why}\n" for c, v, m, why in rows]
    lines += [f"{c}\t0\t{m}\tnot reportable by a practitioner (MUE 0)\n" for c, m in sorted(zero.items())]
    install(target, header + "".join(lines))
    why = "".join(f"; {n:,} {reason}, e.g. {sample[reason]!r}" for reason, n in skipped.most_common())
    return (f"imported {len(rows):,} MUE rows effective {start.isoformat()} from {name} into {target} "
            f"(git-ignored), and {len(zero):,} code(s) CMS gives MUE 0 (not reportable by a practitioner)"
            + (f"; skipped{why[1:]}" if why else ""))


def remove() -> str:
    return remove_import(reference.licensed_folder() / LICENSED_MUE, "MUE table", "the lab's own MUE rows")


def imported() -> tuple[dict, list[dict]]:
    """(what was imported: effective date and file name, rows) or ({}, []) when nothing was."""
    path = reference.licensed_folder() / LICENSED_MUE
    if not path.exists():
        return {}, []
    lines = path.read_text(encoding="utf-8").splitlines()
    meta: dict = {}
    rows = []
    for line in lines:
        parts = line.split("\t")
        if parts[0] == "# effective" and len(parts) >= 3:
            meta = {"effective_from": parts[1], "file": parts[2], "path": path}
        elif len(parts) == 4 and _VALUE.match(parts[1]) and parts[2] in {"1", "2", "3"}:
            rows.append({"code": parts[0], "value": int(parts[1]), "mai": int(parts[2]), "rationale": parts[3]})
    return (meta, rows) if meta else ({}, [])
