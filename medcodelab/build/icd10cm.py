"""Parse the CDC ICD-10-CM tabular list (XML) into plain rows.

The XML nests chapter > section (block) > diag > diag ... and attaches instructional notes to
each level. Codes that take a 7th character are not listed in the XML: the tabular gives a
``sevenChrDef`` at some ancestor and the coder builds the code (padding with the placeholder
X to six characters). We generate those codes the same way and keep only the ones the CDC
code list (shipped beside the XML) confirms, because a few 7th characters are not valid for
every code under a category.

Nothing here imports ``simple_icd_10_cm``: importing it costs ~2.5 s and ~190 MB. We read its
data files, which are the CDC's own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

RELEASE = "2026-04"
RELEASE_DATE = "2026-04-01"
EFFECTIVE_FROM = "2026-04-01"
EFFECTIVE_TO = "2026-09-30"
XML_NAME = "icd10c-tabular-April-1-2026.xml"
CODE_LIST_NAME = "code-list-April-2026.txt"

# Note elements, by their XML tag, and the name the lab uses for each.
NOTE_TYPES = {
    "inclusionTerm": "inclusion_term",
    "includes": "includes",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional",
    "codeAlso": "code_also",
    "notes": "note",
    "sevenChrNote": "seventh_character_note",
}


@dataclass
class Entry:
    """One row of the tabular list: a chapter, block, category, subcategory or code."""

    entry_id: int
    code: str
    kind: str  # chapter | block | category | subcategory | seventh_character
    description: str
    parent_id: int | None
    depth: int  # 0 chapter, 1 block, 2 category, 3.. subcategory levels
    billable: bool = False
    requires_seventh: bool = False


@dataclass
class Note:
    entry_id: int
    note_type: str
    ordinal: int
    text: str


@dataclass
class SeventhCharacter:
    entry_id: int
    character: str
    meaning: str


@dataclass
class Tabular:
    entries: list[Entry] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    seventh: list[SeventhCharacter] = field(default_factory=list)
    xml_path: Path | None = None
    code_list_path: Path | None = None


def source_files() -> tuple[Path, Path]:
    """The tabular XML and the code list inside the installed simple-icd-10-cm package."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The ICD-10-CM source files come from the PyPI package simple-icd-10-cm==1.5.0, "
            "which is not installed. Run `make lab` or `pip install -e .` first."
        )
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    xml, codes = data / XML_NAME, data / CODE_LIST_NAME
    for path in (xml, codes):
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: this build expects the April 1 2026 release that ships in "
                "simple-icd-10-cm 1.5.0."
            )
    return xml, codes


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def add_dot(code: str) -> str:
    """``E1165`` -> ``E11.65``; three characters or fewer stay as they are."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _text(element: ET.Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


class _Parser:
    def __init__(self, confirmed: set[str]) -> None:
        self.confirmed = confirmed
        self.out = Tabular()

    def add(self, code: str, kind: str, description: str, parent: Entry | None, depth: int) -> Entry:
        entry = Entry(len(self.out.entries) + 1, code, kind, description,
                      parent.entry_id if parent else None, depth)
        self.out.entries.append(entry)
        return entry

    def notes_of(self, element: ET.Element, entry: Entry) -> dict[str, str]:
        """Record the notes attached directly to ``element``; return its own 7th characters."""
        own_seventh: dict[str, str] = {}
        ordinal = 0
        for child in element:
            tag = child.tag
            if tag in NOTE_TYPES:
                for note in child.findall("note"):
                    text = _text(note)
                    if text:
                        ordinal += 1
                        self.out.notes.append(Note(entry.entry_id, NOTE_TYPES[tag], ordinal, text))
            elif tag == "sevenChrDef":
                last = None
                for item in child:
                    if item.tag == "extension":
                        last = item.attrib["char"]
                        own_seventh[last] = _text(item)
                    elif item.tag == "note" and last is not None and _text(item):
                        # a qualifier printed under the previous character, e.g. H34.81-
                        own_seventh[last] = f"{own_seventh[last]} / {_text(item)}"
        for character, meaning in own_seventh.items():
            self.out.seventh.append(SeventhCharacter(entry.entry_id, character, meaning))
        return own_seventh

    def diag(self, element: ET.Element, parent: Entry, depth: int, seventh: dict[str, str]) -> None:
        code = _text(element.find("name"))
        kind = "category" if len(code) == 3 else "subcategory"
        entry = self.add(code, kind, _text(element.find("desc")), parent, depth)
        own = self.notes_of(element, entry)
        seventh = own or seventh
        children = element.findall("diag")
        for child in children:
            self.diag(child, entry, depth + 1, seventh)
        if children:
            return
        if not seventh:
            entry.billable = True
            return
        # A leaf that needs a 7th character: build the codes, placeholder X up to six.
        entry.requires_seventh = True
        stem = code.replace(".", "").ljust(6, "X")
        for character, meaning in seventh.items():
            full = stem + character
            if full in self.confirmed:
                built = self.add(add_dot(full), "seventh_character",
                                 f"{entry.description}, {meaning}", entry, depth + 1)
                built.billable = True

    def run(self, root: ET.Element) -> Tabular:
        for chapter_el in root.findall("chapter"):
            chapter = self.add(_text(chapter_el.find("name")), "chapter",
                               _text(chapter_el.find("desc")), None, 0)
            self.notes_of(chapter_el, chapter)
            for section_el in chapter_el.findall("section"):
                block = self.add(section_el.attrib["id"], "block",
                                 _text(section_el.find("desc")), chapter, 1)
                self.notes_of(section_el, block)
                for diag_el in section_el.findall("diag"):
                    self.diag(diag_el, block, 2, {})
        return self.out


def parse(xml_path: Path | None = None, code_list_path: Path | None = None) -> Tabular:
    """Parse the tabular list; the default is the April 1 2026 release."""
    if xml_path is None or code_list_path is None:
        xml_path, code_list_path = source_files()
    confirmed = {line.strip() for line in code_list_path.read_text(encoding="utf-8").splitlines() if line.strip()}
    tabular = _Parser(confirmed).run(ET.parse(xml_path).getroot())
    tabular.xml_path, tabular.code_list_path = xml_path, code_list_path
    return tabular


# --- code references inside notes -------------------------------------------------------

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
_REF = re.compile(rf"^({_CODE})(-?)(?:\s*-\s*({_CODE})(-?))?$")


def note_references(text: str) -> list[tuple[str, str]]:
    """Code ranges a note points at, as ``(low, high)`` pairs without dots.

    Only parenthesised lists count, e.g. ``type 1 diabetes mellitus (E10.-)`` or
    ``(E00-E07, E15-E16)``: a bare ``B12`` in running text is a vitamin, not a code.
    A code ``X`` or ``X.-`` covers itself and everything below it; ``A-B`` covers the
    codes whose leading characters fall between A and B.
    """
    refs: list[tuple[str, str]] = []
    for group in re.findall(r"\(([^()]*)\)", text):
        for part in group.split(","):
            match = _REF.match(part.strip())
            if not match:
                continue
            low = match.group(1).replace(".", "")
            high = (match.group(3) or match.group(1)).replace(".", "")
            refs.append((low, high))
    return refs


def in_reference(code: str, low: str, high: str) -> bool:
    """Does ``code`` (no dot) fall inside the referenced range?"""
    return code[: len(low)] >= low and code[: len(high)] <= high
