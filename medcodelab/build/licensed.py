"""``medcodelab import-cpt FILE``: use a site's own licensed CPT descriptors.

The lab never ships AMA descriptor text. A school or employer that licenses CPT can import its
descriptor file; it is normalised into ``data/licensed/cpt_descriptors.tsv`` (git-ignored, never
committed or redistributed) and the next build shows the official descriptor beside the lab's
summary, and accepts every licensed code in ``check(..., system="cpt")``.

Accepted input: one code and its descriptor per line, separated by a tab, a pipe, a comma
(CSV, quotes allowed) or spaces, as in the AMA's data files. A header line, blank lines and
lines that do not start with a CPT-shaped code are skipped and counted. A code spread over
several lines (continuation rows) is joined in order.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from . import reference

_CODE = re.compile(r"^\s*\"?(\d{4}[0-9FTU])\"?\s*(?:[\t|,]|\s+)\s*(.*\S)\s*$")
MAX_BYTES = 50_000_000


class ImportProblem(ValueError):
    pass


def parse(text: str) -> tuple[dict[str, str], int]:
    """Descriptors by code, and how many lines were skipped."""
    descriptors: dict[str, list[str]] = {}
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if "," in line and "\t" not in line and "|" not in line and '"' in line:
            fields = next(csv.reader(io.StringIO(line)), [])
            line = "\t".join(fields[:1] + [", ".join(f for f in fields[1:] if f)])
        match = _CODE.match(line)
        if not match:
            skipped += 1
            continue
        code, descriptor = match.group(1), " ".join(match.group(2).strip('"').split())
        if descriptor:
            descriptors.setdefault(code, []).append(descriptor)
    return {code: " ".join(parts) for code, parts in descriptors.items()}, skipped


def import_cpt(source: Path) -> str:
    if not source.is_file():
        raise ImportProblem(f"{source} is not a file")
    if source.stat().st_size > MAX_BYTES:
        raise ImportProblem(f"{source} is larger than {MAX_BYTES // 1_000_000} MB; is it the descriptor file?")
    raw = source.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # the AMA's older files are Windows-encoded
    descriptors, skipped = parse(text)
    if not descriptors:
        raise ImportProblem(f"no line of {source.name} starts with a CPT code and a descriptor "
                            "(expected e.g. '99213<TAB>descriptor')")
    target = reference.licensed_folder() / reference.LICENSED_CPT
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(f"{code}\t{text}\n" for code, text in sorted(descriptors.items())), encoding="utf-8")
    os.replace(tmp, target)
    return (f"imported {len(descriptors):,} CPT descriptors into {target} (git-ignored; licensed to this site, "
            f"never commit or share it); skipped {skipped:,} line(s) that held no code")


# --- a site's imported tables (import-mue, import-ncci): written whole, undone whole ----------------

def _previous(target: Path) -> Path:
    return target.with_name(target.name + ".previous")


def install(target: Path, text: str) -> None:
    """Put an import in place atomically, keeping the one it replaces so that a build that refuses
    the new one can put it back (``restore_previous``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    if target.exists():
        os.replace(target, _previous(target))
    else:
        _previous(target).unlink(missing_ok=True)
    os.replace(tmp, target)


def restore_previous(target: Path) -> str:
    """Undo the last import: the one before it (or none) is in place again."""
    before = _previous(target)
    if before.exists():
        os.replace(before, target)
        return f"the previous import is back in place ({target.name})"
    target.unlink(missing_ok=True)
    return "no import was in place before, so none is now"


def remove_import(target: Path, table: str, lab: str) -> str:
    """Drop an import (and the one kept behind it): ``lab`` names what is in use instead."""
    _previous(target).unlink(missing_ok=True)
    if not target.exists():
        return f"no imported {table}: {lab} are in use"
    target.unlink()
    return f"removed {target}: {lab} are in use again"
