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
import os
import re
import zipfile
from pathlib import Path

from . import reference
from .licensed import MAX_BYTES, ImportProblem

LICENSED_MUE = "mue_practitioner.tsv"
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_EFFECTIVE = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def parse(text: str) -> tuple[list[tuple[str, int, int, str]], int, int]:
    """(rows as (code, value, mai, rationale), codes with MUE 0, rows skipped) from the CMS CSV."""
    reader = csv.reader(io.StringIO(text))
    header = None
    for row in reader:
        if row and " ".join(row[0].split()).upper().startswith("HCPCS"):
            header = [" ".join(cell.split()).lower() for cell in row]
            break
    if header is None:
        raise ImportProblem("no header row starting with 'HCPCS/CPT Code': is this the CMS MUE table (CSV)?")

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
    rows: list[tuple[str, int, int, str]] = []
    zero = skipped = 0
    seen: set[str] = set()
    for row in reader:
        if len(row) <= max(value_col, mai_col, why_col):
            skipped += bool(any(cell.strip() for cell in row))
            continue
        code = row[0].strip().upper()
        value, mai = row[value_col].strip(), row[mai_col].strip()[:1]
        if not _CODE.match(code) or not value.isdigit() or mai not in {"1", "2", "3"} or code in seen:
            skipped += 1
            continue
        seen.add(code)
        if int(value) == 0:  # CMS's way of saying a practitioner may not report the code at all
            zero += 1
            continue
        rows.append((code, int(value), int(mai), " ".join(row[why_col].split())))
    return rows, zero, skipped


def _read(source: Path) -> tuple[str, str]:
    """(the CSV text, the name its quarter is read from), from a CSV or the CMS ZIP."""
    if not source.is_file():
        raise ImportProblem(f"{source} is not a file")
    if source.stat().st_size > MAX_BYTES:
        raise ImportProblem(f"{source} is larger than {MAX_BYTES // 1_000_000} MB; is it the MUE table?")
    if source.suffix.lower() in {".xlsx", ".xls"}:
        raise ImportProblem("the lab reads the CSV: use the .csv file in the same CMS ZIP (or the ZIP itself)")
    if source.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(source) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                chosen = [n for n in names if "practitioner" in n.lower()] or names
                if len(chosen) != 1:
                    raise ImportProblem(f"{source.name} holds {len(chosen)} candidate CSV files ({', '.join(names) or 'none'}); "
                                        "unzip it and import the Practitioner Services CSV")
                info = archive.getinfo(chosen[0])
                if info.file_size > MAX_BYTES:
                    raise ImportProblem(f"{chosen[0]} would unpack to more than {MAX_BYTES // 1_000_000} MB")
                return _decode(archive.read(chosen[0])), Path(chosen[0]).name
        except zipfile.BadZipFile:
            raise ImportProblem(f"{source.name} is not a readable ZIP file") from None
    return _decode(source.read_bytes()), source.name


def import_mue(source: Path, effective: str | None = None) -> str:
    text, name = _read(source)
    if effective:
        try:
            start = dt.date.fromisoformat(effective)
        except ValueError:
            raise ImportProblem(f"--effective {effective!r} is not a date (YYYY-MM-DD)") from None
    else:
        match = _EFFECTIVE.search(name)
        if not match:
            raise ImportProblem(f"cannot tell the quarter from {name!r}: give --effective YYYY-MM-DD "
                                "(the date the table took effect)")
        month, day, year = (int(g) for g in match.groups())
        try:
            start = dt.date(year, month, day)
        except ValueError:
            raise ImportProblem(f"the date in {name!r} is not a real date: give --effective YYYY-MM-DD") from None
    rows, zero, skipped = parse(text)
    if not rows:
        raise ImportProblem(f"no MUE rows in {name} (a code, a whole-number value and an MAI of 1, 2 or 3)")
    target = reference.licensed_folder() / LICENSED_MUE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    header = f"# effective\t{start.isoformat()}\t{name}\n"
    tmp.write_text(header + "".join(f"{c}\t{v}\t{m}\t{why}\n" for c, v, m, why in rows), encoding="utf-8")
    os.replace(tmp, target)
    return (f"imported {len(rows):,} MUE rows effective {start.isoformat()} from {name} into {target} "
            f"(git-ignored); {zero:,} code(s) with MUE 0 (not reportable by a practitioner) left out; "
            f"{skipped:,} row(s) skipped that held no code, value and MAI")


def remove() -> str:
    path = reference.licensed_folder() / LICENSED_MUE
    if not path.exists():
        return "no imported MUE table: the lab's own rows are in use"
    path.unlink()
    return f"removed {path}: the lab's own MUE rows are in use again"


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
        elif len(parts) == 4 and parts[1].isdigit() and parts[2] in {"1", "2", "3"}:
            rows.append({"code": parts[0], "value": int(parts[1]), "mai": int(parts[2]), "rationale": parts[3]})
    return (meta, rows) if meta else ({}, [])
