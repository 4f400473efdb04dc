"""``medcodelab import-ncci FILE...``: the official CMS practitioner PTP edits among the codes the lab teaches.

The lab ships NCCI procedure-to-procedure pairs it has checked one by one (``ncci_ptp.yaml``).
CMS publishes the whole practitioner table each quarter in four parts (``ccipra-v322r0-f1`` to
``-f4``), millions of rows the lab may not download at run time. A site that downloads them imports
them here: every pair whose two codes are both in the lab's CPT and HCPCS tables (or in CPT
descriptors the site imported) is kept in ``data/licensed/ncci_ptp_practitioner.tsv``
(git-ignored), and the next build uses those official rows in place of the lab's rows for the same
two codes. Pairs of codes the lab does not hold cannot come up in its cases or claims, so they are
counted and left out; import again after the teaching set grows.

The text layout, as CMS lays it out: notice lines, then tab-separated rows of column 1, column 2,
a flag for edits older than 1996, the effective date and the deletion date (YYYYMMDD, ``*`` for
none), the modifier indicator (0, 1 or 9) and the rationale. A deletion date is the first day the
edit no longer applies, so the lab's ``effective_to`` (the last day it holds) is the day before.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from pathlib import Path

from . import reference
from .licensed import MAX_BYTES, ImportProblem
from .mue_import import _decode

LICENSED_PTP = "ncci_ptp_practitioner.tsv"
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_DATE = re.compile(r"^\d{8}$")
PART_BYTES = 400_000_000  # one unpacked part of the practitioner table is well under this


def _date(text: str) -> dt.date | None:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) if _DATE.match(text) else None


def taught_codes() -> set[str]:
    """The CPT and HCPCS codes the lab holds (its YAML tables and a site's licensed CPT codes)."""
    codes = {str(r.get("code", "")).strip().upper() for name in ("cpt.yaml", "hcpcs.yaml")
             for r in reference._load(name).get("codes") or []}
    return codes | set(reference.licensed_cpt())


def _texts(source: Path):
    """(name, text) of each PTP part in a .txt file or a CMS ZIP."""
    if not source.is_file():
        raise ImportProblem(f"{source} is not a file")
    if source.suffix.lower() in {".xlsx", ".xls"}:
        raise ImportProblem(f"{source.name}: the lab reads the tab-separated .txt file in the same CMS ZIP (or the ZIP)")
    if source.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(source) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".txt")]
                if not names:
                    raise ImportProblem(f"{source.name} holds no .txt part of the PTP table")
                for name in names:
                    if archive.getinfo(name).file_size > PART_BYTES:
                        raise ImportProblem(f"{name} would unpack to more than {PART_BYTES // 1_000_000} MB")
                    yield Path(name).name, _decode(archive.read(name))
        except zipfile.BadZipFile:
            raise ImportProblem(f"{source.name} is not a readable ZIP file") from None
        return
    if source.stat().st_size > PART_BYTES:
        raise ImportProblem(f"{source} is larger than {PART_BYTES // 1_000_000} MB; is it one part of the PTP table?")
    yield source.name, _decode(source.read_bytes())


def parse(text: str, keep: set[str]) -> tuple[list[tuple], int, int]:
    """(kept rows, edits between codes the lab does not hold, lines that are not edits)."""
    rows, outside, skipped = [], 0, 0
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 6 or not (_CODE.match(fields[0]) and _CODE.match(fields[1])):
            skipped += bool(line.strip())
            continue
        one, two, _, start, end, indicator = fields[:6]
        rationale = " ".join(fields[6].split()) if len(fields) > 6 else ""
        began, deleted = _date(start), _date(end)
        if began is None or indicator not in {"0", "1", "9"} or (end not in {"*", ""} and deleted is None) \
                or one == two:
            skipped += 1
            continue
        if one not in keep or two not in keep:
            outside += 1
            continue
        last = (deleted - dt.timedelta(days=1)).isoformat() if deleted else ""
        rows.append((one, two, int(indicator), began.isoformat(), last, rationale))
    return rows, outside, skipped


def import_ptp(sources: list[Path]) -> str:
    if not sources:
        raise ImportProblem("name the CMS PTP files (the four practitioner parts, as .txt or the ZIPs)")
    keep = taught_codes()
    rows: dict[tuple, tuple] = {}
    outside = skipped = 0
    names = []
    for source in sources:
        if source.suffix.lower() != ".zip" and source.is_file() and source.stat().st_size > MAX_BYTES * 8:
            raise ImportProblem(f"{source} is too large to be one part of the PTP table")
        for name, text in _texts(source):
            kept, out, skip = parse(text, keep)
            if not kept and not out:
                raise ImportProblem(f"{name} holds no PTP edit lines (column 1, column 2, dates, indicator, "
                                    "rationale, tab-separated): is it the practitioner PTP table?")
            for row in kept:
                rows[row[:4]] = row  # the same edit listed twice (overlapping parts) is kept once
            outside, skipped, names = outside + out, skipped + skip, names + [name]
    if not rows:
        raise ImportProblem(f"none of the {outside:,} edits pairs two codes the lab holds")
    target = reference.licensed_folder() / LICENSED_PTP
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    body = "".join("\t".join(str(v) for v in row) + "\n" for row in sorted(rows.values()))
    tmp.write_text(f"# release\t{', '.join(names)}\n" + body, encoding="utf-8")
    os.replace(tmp, target)
    return (f"imported {len(rows):,} PTP edits between codes the lab holds from {', '.join(names)} into {target} "
            f"(git-ignored); {outside:,} edits between other codes left out; {skipped:,} line(s) that were not edits")


def remove() -> str:
    path = reference.licensed_folder() / LICENSED_PTP
    if not path.exists():
        return "no imported PTP table: the lab's own pairs are in use"
    path.unlink()
    return f"removed {path}: the lab's own NCCI pairs are in use again"


def imported() -> tuple[str, list[dict]]:
    """(the imported file names, rows) or ("", []) when nothing was imported."""
    path = reference.licensed_folder() / LICENSED_PTP
    if not path.exists():
        return "", []
    release, rows = "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if parts[0] == "# release" and len(parts) > 1:
            release = parts[1]
        elif len(parts) == 6 and parts[2] in {"0", "1", "9"}:
            rows.append({"column1": parts[0], "column2": parts[1], "modifier_indicator": int(parts[2]),
                         "effective_from": parts[3], "effective_to": parts[4] or None, "rationale": parts[5]})
    return release, rows
