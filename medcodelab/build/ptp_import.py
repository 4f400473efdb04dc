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
import re
import zipfile
from collections import Counter
from pathlib import Path

from . import reference
from .licensed import ImportProblem, install, remove_import
from .mue_import import _binary, _decode, _zip_members, read_member

LICENSED_PTP = "ncci_ptp_practitioner.tsv"
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_DATE = re.compile(r"^\d{8}$")
_PART = re.compile(r"-f([1-9])\b", re.IGNORECASE)
PART_BYTES = 400_000_000  # one unpacked part of the practitioner table is well under this
TOTAL_BYTES = 4 * PART_BYTES


def _date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def taught_codes() -> set[str]:
    """The CPT and HCPCS codes the lab holds (its YAML tables and a site's licensed CPT codes)."""
    codes = {str(r.get("code", "")).strip().upper() for name in ("cpt.yaml", "hcpcs.yaml")
             for r in reference._load(name).get("codes") or []}
    return codes | set(reference.licensed_cpt())


def _files(sources: list[Path]) -> list[Path]:
    """The files named, a folder standing for the .txt and .zip files in it; each file once."""
    out: list[Path] = []
    for source in sources:
        if source.is_dir():
            found = sorted(p for p in source.iterdir() if p.suffix.lower() in {".txt", ".zip"})
            if not found:
                raise ImportProblem(f"the folder {source} holds no .txt or .zip file")
            out += found
        elif not source.exists():
            raise ImportProblem(f"{source} does not exist")
        else:
            out.append(source)
    seen: set[Path] = set()
    unique: list[Path] = []
    for path in out:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def _texts(source: Path, budget: list[int]):
    """(name, text) of each PTP part in a .txt file or a CMS ZIP; ``budget`` caps the bytes read in all."""
    if source.suffix.lower() in {".xlsx", ".xls"}:
        raise ImportProblem(f"{source.name}: the lab reads the tab-separated .txt file in the same CMS ZIP (or the ZIP)")
    if source.suffix.lower() == ".zip":
        try:
            names = _zip_members(source, ".txt")
        except zipfile.BadZipFile:
            raise ImportProblem(f"{source.name} is not a readable ZIP file") from None
        if not names:
            raise ImportProblem(f"{source.name} holds no .txt part of the PTP table")
        for name in names:
            raw = read_member(source, name, min(PART_BYTES, budget[0]))
            budget[0] -= len(raw)
            _binary(raw, name)
            yield Path(name).name, _decode(raw)
        return
    size = source.stat().st_size
    if size > min(PART_BYTES, budget[0]):
        raise ImportProblem(f"{source} is larger than one part of the PTP table can be")
    budget[0] -= size
    raw = source.read_bytes()
    _binary(raw, source.name)
    yield source.name, _decode(raw)


def parse(text: str, keep: set[str]) -> tuple[list[tuple], int, Counter]:
    """(kept rows, edits between codes the lab does not hold, lines skipped by reason)."""
    rows, outside, skipped = [], 0, Counter()
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 6 or not (_CODE.match(fields[0].upper()) and _CODE.match(fields[1].upper())):
            continue  # notice and header lines
        one, two = fields[0].upper(), fields[1].upper()
        start, end, indicator = fields[3], fields[4], fields[5]
        rationale = " ".join(" ".join(fields[6:]).split())
        began, deleted = _date(start), _date(end)
        if began is None or (end not in {"*", ""} and deleted is None):
            skipped["a date that is not a real YYYYMMDD date"] += 1
        elif indicator not in {"0", "1", "9"}:
            skipped["a modifier indicator other than 0, 1 or 9"] += 1
        elif one == two:
            skipped["a code paired with itself"] += 1
        elif deleted is not None and deleted < began:
            skipped["a deletion date before the effective date"] += 1
        elif one not in keep or two not in keep:
            outside += 1
        else:
            last = (deleted - dt.timedelta(days=1)).isoformat() if deleted else ""
            rows.append((one, two, int(indicator), began.isoformat(), last, rationale))
    return rows, outside, skipped


def import_ptp(sources: list[Path]) -> str:
    if not sources:
        raise ImportProblem("name the CMS PTP files (the four practitioner parts, as .txt or the ZIPs)")
    keep = taught_codes()
    rows: dict[tuple, tuple] = {}
    outside, conflicts = 0, 0
    skipped: Counter = Counter()
    names: list[str] = []
    budget = [TOTAL_BYTES]
    for source in _files(sources):
        for name, text in _texts(source, budget):
            kept, out, skip = parse(text, keep)
            if not kept and not out:
                if source.suffix.lower() == ".zip":
                    continue  # a README or notice file beside the table in the ZIP
                raise ImportProblem(f"{name} holds no PTP edit lines (column 1, column 2, dates, indicator, "
                                    "rationale, tab-separated): is it the practitioner PTP table?")
            for row in kept:
                key = row[:2] + row[3:4]  # one edit per pair and start date
                if key in rows and rows[key] != row:
                    conflicts += 1
                    if (row[4] or "9999") <= (rows[key][4] or "9999"):
                        continue  # keep the row that holds longer
                rows[key] = row
            outside += out
            skipped += skip
            names.append(name)
    if not names:
        raise ImportProblem("none of the files holds PTP edit lines")
    if not rows:
        raise ImportProblem(f"none of the {outside:,} edits pairs two codes the lab holds")
    # the same two codes both ways round, both in force on some day: CMS's table should not say this
    by_pair: dict[tuple[str, str], list[tuple]] = {}
    for row in rows.values():
        by_pair.setdefault(row[:2], []).append(row)
    both = sum(1 for (a, b), mine in by_pair.items() if a < b and (b, a) in by_pair
               and any(r[3] <= (q[4] or "9999") and q[3] <= (r[4] or "9999") for r in mine for q in by_pair[(b, a)]))
    target = reference.licensed_folder() / LICENSED_PTP
    body = "".join("\t".join(str(v) for v in row) + "\n" for row in sorted(rows.values()))
    install(target, f"# release\t{', '.join(names)}\n" + body)
    parts = sorted({m.group(1) for n in names for m in [_PART.search(n)] if m})
    notes = []
    if parts and len(parts) < 4:
        notes.append(f"only part(s) f{', f'.join(parts)} were given: the practitioner table comes in four parts "
                     "(f1-f4), and this import replaces any earlier one, so give all four in one command")
    if conflicts:
        notes.append(f"{conflicts:,} edit(s) listed again with another indicator or end date for the same start "
                     "(the one that holds longer kept)")
    if both:
        notes.append(f"{both:,} pair(s) are in force both ways round on some dates (the newer edit wins)")
    for reason, n in skipped.most_common():
        notes.append(f"{n:,} line(s) skipped: {reason}")
    return (f"imported {len(rows):,} PTP edits between codes the lab holds from {', '.join(names)} into {target} "
            f"(git-ignored; it replaces any earlier import); {outside:,} edits between other codes left out"
            + "".join(f"\n  note: {n}" for n in notes))


def remove() -> str:
    return remove_import(reference.licensed_folder() / LICENSED_PTP, "PTP table", "the lab's own NCCI pairs")


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
