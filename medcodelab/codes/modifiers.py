"""Which codes a modifier may attach to.

Each row of ``modifiers.yaml`` carries an ``attaches`` rule in terms of facts the lab holds about a
code (its CPT section, global period, add-on flag; a HCPCS code's letter and drug billing unit):

- ``cpt_sections``: the CPT sections it attaches to (absent: any section), widened by ``cpt_codes``
  (single codes or ``first-last`` ranges, e.g. the eye-exam codes 92002-92014 that take 25);
- ``not_cpt_sections``: sections it never attaches to (a code listed in ``cpt_codes`` still may);
- ``not_add_on``: never on an add-on code; ``global_days``: only on codes with these global periods;
- ``hcpcs_categories``: the HCPCS letters it attaches to; ``hcpcs_drug``: only drug codes billed per
  amount.

``fit`` answers with the reason a pairing is wrong, or ``None``. A rule the lab cannot apply (a
code it holds no facts for, such as a licensed CPT code outside the teaching set) is not a
failure: the check says only what the tables can defend.
"""

from __future__ import annotations

import re

SECTION_NAMES = {"evaluation-management": "E/M", "anesthesia": "anaesthesia", "surgery": "surgery",
                 "radiology": "radiology", "pathology-laboratory": "pathology and laboratory",
                 "medicine": "medicine"}
RULE_KEYS = {"summary", "cpt_sections", "cpt_codes", "not_cpt_sections", "not_add_on", "global_days",
             "hcpcs_categories", "hcpcs_drug"}
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
    for item in rule.get("cpt_codes") or []:
        m = _RANGE.match(str(item))
        if not m or (m.group(2) and m.group(2) < m.group(1)) or (m.group(4) and m.group(4) < m.group(3)):
            problems.append(f"{code}: attaches.cpt_codes item {item!r} is not a code or a first-last range")
    bad = [v for v in rule.get("hcpcs_categories") or [] if not re.fullmatch(r"[A-Z]", str(v))]
    if bad:
        problems.append(f"{code}: attaches.hcpcs_categories must be single letters, not {bad}")
    cpt_keys = {"cpt_sections", "cpt_codes", "not_cpt_sections", "not_add_on", "global_days"} & set(rule)
    hcpcs_keys = {"hcpcs_categories", "hcpcs_drug"} & set(rule)
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
        listed = in_codes(code, rule.get("cpt_codes") or [])
        name = SECTION_NAMES.get(section, section)
        allowed = rule.get("cpt_sections")
        if (allowed is not None or rule.get("cpt_codes")) and not listed and section not in (allowed or []):
            return f"modifier {modifier} does not attach to {code}, a {name} code{because}"
        if section in (rule.get("not_cpt_sections") or []) and not listed:
            return f"modifier {modifier} does not attach to {code}, a {name} code{because}"
        if rule.get("not_add_on") and code_details.get("add_on"):
            return f"modifier {modifier} does not attach to the add-on code {code}{because}"
        days = rule.get("global_days")
        if days and str(code_details.get("global_days")) not in days:
            return (f"modifier {modifier} does not attach to {code}, whose global period is "
                    f"{code_details.get('global_days')}{because}")
        return None
    if system == "hcpcs":
        if not code_details:
            return None
        letters = rule.get("hcpcs_categories")
        if letters is not None and code[:1] not in letters:
            return f"modifier {modifier} does not attach to the HCPCS {code[:1]} code {code}{because}"
        if rule.get("hcpcs_drug") and not code_details.get("unit"):
            return f"modifier {modifier} does not attach to {code}, which is not a drug billed per amount{because}"
    return None
