"""Which codes a modifier may attach to.

Each row of ``modifiers.yaml`` carries an ``attaches`` rule in terms of facts the lab holds about a
code (its CPT section, global period, add-on flag; a HCPCS code's letter and drug billing unit):

- ``cpt_sections``: when present (even empty), the only CPT sections it attaches to;
- ``cpt_codes``: codes or ``first-last`` ranges it attaches to even outside ``cpt_sections`` or inside
  ``not_cpt_sections`` (the eye-exam codes 92002-92014 that take 25, surgical pathology for 26);
- ``not_cpt_sections`` / ``not_cpt_codes``: sections and codes it never attaches to (a code listed in
  ``not_cpt_codes`` is refused whatever else the rule says);
- ``not_add_on``: never on an add-on code; ``global_days``: only on codes with these global periods;
- ``hcpcs_categories``: when present (even empty), the only HCPCS letters it attaches to;
  ``hcpcs_codes``: HCPCS codes it attaches to in any case; ``hcpcs_drug``: only drug codes billed per
  amount (or a listed code).

``fit`` answers with the reason a pairing is wrong, or ``None``. A rule the lab cannot apply (a
code it holds no facts for, such as a licensed CPT code outside the teaching set) is not a
failure: the check says only what the tables can defend.
"""

from __future__ import annotations

import re

SECTION_NAMES = {"evaluation-management": "E/M", "anesthesia": "anaesthesia", "surgery": "surgery",
                 "radiology": "radiology", "pathology-laboratory": "pathology and laboratory",
                 "medicine": "medicine"}
RULE_KEYS = {"summary", "cpt_sections", "cpt_codes", "not_cpt_sections", "not_cpt_codes", "not_add_on",
             "global_days", "hcpcs_categories", "hcpcs_codes", "hcpcs_drug"}
_RANGE = re.compile(r"^([0-9]{4}[0-9A-Z])(?:-([0-9]{4}[0-9A-Z]))?$|^([A-Z][0-9]{4})(?:-([A-Z][0-9]{4}))?$")


def in_codes(code: str, listed: list[str]) -> bool:
    """Is ``code`` one of ``listed`` (codes or ``first-last`` ranges of the same shape)?"""
    for item in listed:
        first, _, last = str(item).partition("-")
        if code == first or (last and len(code) == len(first) and first <= code <= last):
            return True
    return False


def rule_problems(code: str, rule: object, applies_to: list[str], sections: set[str],
                  global_days: set[str]) -> list[str]:
    """What is wrong with one modifier's ``attaches`` rule (used by the data build)."""
    if not isinstance(rule, dict):
        return [f"{code}: attaches must be a mapping with at least a summary"]
    problems = []
    unknown = set(rule) - RULE_KEYS
    if unknown:
        problems.append(f"{code}: attaches has unknown keys {sorted(unknown)}")
    if not str(rule.get("summary") or "").strip():
        problems.append(f"{code}: attaches needs a summary in the lab's own words")
    for key, allowed in (("cpt_sections", sections), ("not_cpt_sections", sections), ("global_days", global_days)):
        bad = [v for v in rule.get(key) or [] if str(v) not in allowed]
        if bad:
            problems.append(f"{code}: attaches.{key} has {bad}; use {sorted(allowed)}")
    for key in ("cpt_codes", "not_cpt_codes", "hcpcs_codes"):
        for item in rule.get(key) or []:
            m = _RANGE.match(str(item))
            if not m or (m.group(2) and m.group(2) < m.group(1)) or (m.group(4) and m.group(4) < m.group(3)) \
                    or bool(m.group(3)) != key.startswith("hcpcs"):
                problems.append(f"{code}: attaches.{key} item {item!r} is not a "
                                f"{'HCPCS' if key.startswith('hcpcs') else 'CPT'} code or a first-last range")
    bad = [v for v in rule.get("hcpcs_categories") or [] if not re.fullmatch(r"[A-Z]", str(v))]
    if bad:
        problems.append(f"{code}: attaches.hcpcs_categories must be single letters, not {bad}")
    cpt_keys = {"cpt_sections", "cpt_codes", "not_cpt_sections", "not_cpt_codes", "not_add_on", "global_days"} & set(rule)
    hcpcs_keys = {"hcpcs_categories", "hcpcs_codes", "hcpcs_drug"} & set(rule)
    if cpt_keys and "cpt" not in applies_to:
        problems.append(f"{code}: attaches says which CPT codes ({sorted(cpt_keys)}) but the modifier does not apply to CPT")
    if hcpcs_keys and "hcpcs" not in applies_to:
        problems.append(f"{code}: attaches says which HCPCS codes ({sorted(hcpcs_keys)}) but the modifier does not apply to HCPCS")
    return problems


def fit(modifier: str, modifier_details: dict, code: str, system: str, code_details: dict) -> str | None:
    """Why ``modifier`` may not attach to ``code`` (a ``cpt`` or ``hcpcs`` code), or ``None``."""
    applies = modifier_details.get("applies_to") or []
    if applies and system not in applies:
        return (f"modifier {modifier} is not used on {system.upper()} codes such as {code} (it applies to "
                f"{', '.join(a.upper() for a in applies)})")
    rule = modifier_details.get("attaches") or {}
    where = rule.get("summary", "")
    because = f"; {modifier} attaches to: {where}" if where else ""
    if system == "cpt":
        section = code_details.get("section")
        if not section:  # a code the lab holds no facts for (e.g. licensed CPT outside the teaching set)
            return None
        name = SECTION_NAMES.get(section, section)
        if in_codes(code, rule.get("not_cpt_codes") or []):
            return f"modifier {modifier} does not attach to {code}{because}"
        listed = in_codes(code, rule.get("cpt_codes") or [])
        allowed = rule.get("cpt_sections")
        if not listed and ((allowed is not None and section not in allowed)
                           or section in (rule.get("not_cpt_sections") or [])):
            article = "an" if name[:1] in "AEIOUaeiou" else "a"
            return f"modifier {modifier} does not attach to {code}, {article} {name} code{because}"
        if rule.get("not_add_on") and code_details.get("add_on"):
            return f"modifier {modifier} does not attach to the add-on code {code}{because}"
        days = rule.get("global_days")
        if days and str(code_details.get("global_days")) not in days:
            return (f"modifier {modifier} does not attach to {code}, whose global period is "
                    f"{code_details.get('global_days')}{because}")
        return None
    if system == "hcpcs":
        if not code_details or in_codes(code, rule.get("hcpcs_codes") or []):
            return None
        letters = rule.get("hcpcs_categories")
        if letters is not None and code[:1] not in letters:
            return f"modifier {modifier} does not attach to the HCPCS {code[:1]} code {code}{because}"
        if rule.get("hcpcs_drug") and not code_details.get("unit"):
            return f"modifier {modifier} does not attach to {code}, which is not a drug billed per amount{because}"
    return None
