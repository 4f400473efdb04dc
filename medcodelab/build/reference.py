"""Load the curated reference tables (``data/reference/*.yaml``) into the database, checked.

Every table is one fact per row with its source (see ``data/reference/README.md``). The build
refuses tables that contradict themselves or the code sets: a rule naming a code that does not
exist, an NCCI pair listed both ways, an MUE that is not positive, a modifier indicator outside
0/1/9, a coverage diagnosis that is not billable, an add-on whose primary code is unknown, a
row without a source. Every problem is listed, not just the first.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from .. import paths

SHAPES = {
    "cpt": re.compile(r"^\d{4}[0-9FTU]$"),
    "hcpcs": re.compile(r"^[A-V]\d{4}$"),
    "modifier": re.compile(r"^[0-9A-Z]{2}$"),
}
CPT_SECTIONS = {"evaluation-management", "anesthesia", "surgery", "radiology", "pathology-laboratory", "medicine"}
GLOBAL_DAYS = {"000", "010", "090", "XXX", "YYY", "ZZZ", "MMM"}


class InvalidReference(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in data/reference:\n" + "\n".join(f"  - {p}" for p in problems))


LICENSED_CPT = "cpt_descriptors.tsv"


def folder() -> Path:
    return paths.data_dir() / "reference"


def licensed_folder() -> Path:
    """Files a site is licensed to use but the lab may not ship (git-ignored)."""
    return paths.data_dir() / "licensed"


def licensed_cpt() -> dict[str, str]:
    """The CPT descriptors this site imported with ``medcodelab import-cpt`` (empty if none)."""
    path = licensed_folder() / LICENSED_CPT
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        code, _, text = line.partition("\t")
        if code and text:
            out[code] = text
    return out


def _load(name: str) -> dict:
    path = folder() / name
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InvalidReference([f"{name}: expected a mapping at the top level"])
    return data


def _date(value) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value)).isoformat()


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def row(self, where: str, row: dict, required: list[str]) -> bool:
        if not isinstance(row, dict):
            self.problems.append(f"{where}: expected a mapping")
            return False
        missing = [f for f in required if row.get(f) in (None, "")]
        if missing:
            self.problems.append(f"{where}: missing {', '.join(missing)}")
            return False
        return True

    def dates(self, where: str, row: dict) -> tuple[str | None, str | None]:
        try:
            return _date(row.get("effective_from")), _date(row.get("effective_to"))
        except ValueError:
            self.problems.append(f"{where}: dates must be YYYY-MM-DD")
            return None, None


def build_into(conn: duckdb.DuckDBPyConnection, icd10cm_check) -> dict[str, int]:
    """Write every reference table present; returns row counts by table. ``icd10cm_check``
    is the ICD-10-CM code set's ``check`` (coverage diagnoses must be billable)."""
    c = _Checker()
    counts: dict[str, int] = {}
    catalogue: list[dict] = []
    addons: list[tuple[str, str]] = []

    def source(row: dict) -> dict:
        return {"source": str(row.get("source", "")), "checked": str(row.get("checked", ""))}

    # --- code systems -------------------------------------------------------------------------
    for system, name, key in (("cpt", "cpt.yaml", "codes"), ("hcpcs", "hcpcs.yaml", "codes"),
                              ("modifier", "modifiers.yaml", "modifiers")):
        document = _load(name)
        rows = document.get(key) or []
        # a file may say from when its rows describe the code set; a row's own dates win
        default_from = _date(document.get("effective_from"))
        seen: set[str] = set()
        for n, row in enumerate(rows, start=1):
            where = f"{name} #{n}"
            text_field = {"cpt": "summary", "hcpcs": "description", "modifier": "title"}[system]
            if not c.row(where, row, ["code", text_field, "source", "checked"]):
                continue
            code = str(row["code"]).strip().upper()
            if not SHAPES[system].match(code):
                c.problems.append(f"{where}: {code!r} is not shaped like a {system} code")
                continue
            if code in seen:
                c.problems.append(f"{where}: {code} is listed twice")
            seen.add(code)
            start, end = c.dates(where, row)
            start = start or default_from
            details = {k: v for k, v in row.items()
                       if k not in ("code", text_field, "source", "checked", "effective_from", "effective_to")}
            if system == "cpt":
                if row.get("section") not in CPT_SECTIONS:
                    c.problems.append(f"{where}: section must be one of {sorted(CPT_SECTIONS)}")
                if str(row.get("global_days")) not in GLOBAL_DAYS:
                    c.problems.append(f"{where}: global_days must be one of {sorted(GLOBAL_DAYS)}")
                if len(str(row["summary"]).split()) > 25:
                    c.problems.append(f"{where}: the summary should be a short plain-language line")
                if row.get("add_on"):
                    primaries = row.get("primary_codes") or []
                    if not primaries:
                        c.problems.append(f"{where}: add-on {code} names no primary codes")
                    addons += [(code, str(p).strip().upper()) for p in primaries]
            if system == "modifier":
                from ..codes.modifiers import rule_problems

                if "attaches" not in row:
                    c.problems.append(f"{where}: {code} needs an attaches rule (which codes it may go on)")
                else:
                    c.problems += [f"{where}: {p}" for p in rule_problems(code, row["attaches"], row.get("applies_to") or [],
                                                                          CPT_SECTIONS, GLOBAL_DAYS)]
            if system == "hcpcs" and code.startswith("J") and "unit" not in row:
                c.problems.append(f"{where}: drug code {code} needs its billing unit (null for a device or an "
                                  "unclassified drug billed as one unit)")
            unit = row.get("unit")
            if system == "hcpcs" and unit is not None and not (isinstance(unit, dict) and unit.get("amount")
                                                               and unit.get("measure")):
                c.problems.append(f"{where}: unit must be {{amount, measure}} (e.g. {{amount: 1, measure: mg}}) or null")
            catalogue.append({"system": system, "code": code, "description": str(row[text_field]).strip(),
                              "details": json.dumps(details, default=str, sort_keys=True), "effective_from": start,
                              "effective_to": end, **source(row)})
        counts[system] = len(seen)
    licensed = licensed_cpt()
    taught = {r["code"] for r in catalogue if r["system"] == "cpt"}
    for r in catalogue:  # a licensed site sees the official descriptor; the lab's summary stays beside it
        if r["system"] == "cpt" and r["code"] in licensed:
            details = json.loads(r["details"])
            details["lab_summary"] = r["description"]
            r.update(description=licensed[r["code"]], details=json.dumps(details, default=str, sort_keys=True))
    for code, text in sorted(licensed.items()):
        if code not in taught:  # a licensed code the teaching set lacks: its descriptor is its description
            catalogue.append({"system": "cpt", "code": code, "description": text, "details": "{}",
                              "effective_from": None, "effective_to": None,
                              "source": "CPT file licensed and imported by this site", "checked": "licensed"})
    if licensed:
        counts["cpt"] = len(taught | set(licensed))
    known = {(r["system"], r["code"]) for r in catalogue}
    procedure = {code for system, code in known if system in ("cpt", "hcpcs")}
    for addon, primary in addons:
        if primary not in procedure:
            c.problems.append(f"cpt.yaml: add-on {addon} names primary {primary}, which is not in the CPT or HCPCS table")

    # --- NCCI procedure-to-procedure pairs ----------------------------------------------------
    pairs = []
    seen_pairs: set[tuple[str, str]] = set()
    for n, row in enumerate(_load("ncci_ptp.yaml").get("pairs") or [], start=1):
        where = f"ncci_ptp.yaml #{n}"
        if not c.row(where, row, ["column1", "column2", "rationale", "source", "checked"]):
            continue
        one, two = str(row["column1"]).strip().upper(), str(row["column2"]).strip().upper()
        if row.get("modifier_indicator") not in (0, 1, 9):
            c.problems.append(f"{where}: modifier_indicator must be 0, 1 or 9")
        for code in (one, two):
            if code not in procedure:
                c.problems.append(f"{where}: {code} is not in the CPT or HCPCS table")
        if one == two:
            c.problems.append(f"{where}: a code cannot be paired with itself")
        if (two, one) in seen_pairs:
            c.problems.append(f"{where}: {one}/{two} is also listed the other way round")
        if (one, two) in seen_pairs:
            c.problems.append(f"{where}: {one}/{two} is listed twice")
        seen_pairs.add((one, two))
        start, end = c.dates(where, row)
        pairs.append({"column1": one, "column2": two, "modifier_indicator": row.get("modifier_indicator"),
                      "effective_from": start, "effective_to": end, "rationale": str(row["rationale"]).strip(),
                      "origin": "lab", **source(row)})
    # the official CMS practitioner edits a site imported (medcodelab import-ncci), among codes held here
    from .ptp_import import imported as imported_ptp

    ptp_release, official_pairs = imported_ptp()
    official_pairs = [r for r in official_pairs if r["column1"] in procedure and r["column2"] in procedure]
    for row in official_pairs:
        pairs.append({**row, "origin": "cms-import", "checked": "imported",
                      "source": f"CMS NCCI practitioner PTP edits ({ptp_release}), imported by this site"})

    # --- MUE -----------------------------------------------------------------------------------
    limits = []
    for n, row in enumerate(_load("mue.yaml").get("limits") or [], start=1):
        where = f"mue.yaml #{n}"
        if not c.row(where, row, ["code", "value", "mai", "rationale", "source", "checked"]):
            continue
        code = str(row["code"]).strip().upper()
        if code not in procedure:
            c.problems.append(f"{where}: {code} is not in the CPT or HCPCS table")
        if not isinstance(row["value"], int) or row["value"] <= 0:
            c.problems.append(f"{where}: the MUE value must be a whole number above 0")
        if row["mai"] not in (1, 2, 3):
            c.problems.append(f"{where}: MAI must be 1, 2 or 3")
        start, _ = c.dates(where, row)
        limits.append({"code": code, "value": row["value"], "mai": row["mai"], "rationale": str(row["rationale"]).strip(),
                       "effective_from": start, "origin": "lab", **source(row)})
    # the official CMS table a site imported (medcodelab import-mue): every code, official values
    from .mue_import import imported

    mue_meta, official = imported()
    for row in official:
        limits.append({**row, "effective_from": mue_meta["effective_from"], "origin": "cms-import",
                       "source": f"CMS Practitioner Services MUE table effective {mue_meta['effective_from']} "
                                 f"({mue_meta['file']}), imported by this site",
                       "checked": "imported"})

    # --- coverage rules ------------------------------------------------------------------------
    rules, services, diagnoses = [], [], []
    for n, row in enumerate(_load("coverage.yaml").get("rules") or [], start=1):
        where = f"coverage.yaml #{n}"
        if not c.row(where, row, ["id", "name", "services", "basis", "covered_diagnoses", "source", "checked"]):
            continue
        rule_id = str(row["id"])
        for code in row["services"]:
            code = str(code).strip().upper()
            if code not in procedure:
                c.problems.append(f"{where}: service {code} is not in the CPT or HCPCS table")
            services.append({"rule_id": rule_id, "code": code})
        for item in row["covered_diagnoses"]:
            low, _, high = str(item).partition("-")
            high = high or low
            for end_code in {low, high}:
                result = icd10cm_check(end_code)
                if result["status"] != "billable":
                    c.problems.append(f"{where}: covered diagnosis {end_code} is not a billable ICD-10-CM code "
                                      f"({result['message']})")
            diagnoses.append({"rule_id": rule_id, "low": low.strip(), "high": high.strip()})
        frequency = row.get("frequency") or {}
        start, end = c.dates(where, row)
        rules.append({"rule_id": rule_id, "name": str(row["name"]), "basis": str(row["basis"]),
                      "frequency_count": frequency.get("count"), "frequency_per": frequency.get("per"),
                      "abn": str(row.get("abn") or ""), "notes": str(row.get("notes") or ""),
                      "illustrative": bool(row.get("illustrative", False)), "effective_from": start,
                      "effective_to": end, **source(row)})

    # --- claim-level codes, India, clinical samples ---------------------------------------------
    simple_tables = {}
    claims = _load("claims.yaml")
    for key, fields in (("place_of_service", ["code", "name"]), ("group_codes", ["code", "name", "meaning"]),
                        ("carc", ["code", "meaning"]), ("rarc", ["code", "meaning"]),
                        ("payer_types", ["id", "name"])):
        simple_tables[key] = _rows(c, f"claims.yaml {key}", claims.get(key) or [], fields)
    simple_tables["india_packages"] = _rows(c, "india.yaml packages", _load("india.yaml").get("packages") or [],
                                            ["code", "name", "specialty"])
    for row in simple_tables["india_packages"]:
        if not row.get("illustrative"):
            c.problems.append(f"india.yaml {row['code']}: packages are illustrative and must say so")
    clinical = _load("clinical.yaml")
    simple_tables["snomed_sample"] = _rows(c, "clinical.yaml snomed", clinical.get("snomed") or [], ["concept_id", "label"])
    simple_tables["loinc_sample"] = _rows(c, "clinical.yaml loinc", clinical.get("loinc") or [], ["code", "label"])
    simple_tables["crosswalk"] = _rows(c, "clinical.yaml crosswalk", clinical.get("crosswalk") or [], ["concept"])
    for row in simple_tables["crosswalk"]:
        if row.get("icd10cm") and icd10cm_check(str(row["icd10cm"]))["status"] != "billable":
            c.problems.append(f"clinical.yaml crosswalk {row['concept']}: {row['icd10cm']} is not billable ICD-10-CM")

    if c.problems:
        raise InvalidReference(c.problems)

    _table(conn, "catalogue", catalogue, ["system", "code", "description", "details", "effective_from",
                                          "effective_to", "source", "checked"])
    _table(conn, "cpt_licensed", [{"code": k, "descriptor": v} for k, v in sorted(licensed.items())],
           ["code", "descriptor"])
    _table(conn, "cpt_addon_primaries", [{"addon": a, "primary_code": p} for a, p in addons], ["addon", "primary_code"])
    _table(conn, "ncci_ptp", pairs, ["column1", "column2", "modifier_indicator", "effective_from", "effective_to",
                                     "rationale", "origin", "source", "checked"])
    _table(conn, "mue", limits, ["code", "value", "mai", "rationale", "effective_from", "origin", "source", "checked"])
    _table(conn, "coverage_rules", rules, ["rule_id", "name", "basis", "frequency_count", "frequency_per", "abn",
                                           "notes", "illustrative", "effective_from", "effective_to", "source", "checked"])
    _table(conn, "coverage_services", services, ["rule_id", "code"])
    _table(conn, "coverage_diagnoses", diagnoses, ["rule_id", "low", "high"])
    # the pairs in force for claim checks: a site's imported CMS edits replace the lab's rows for the
    # same two codes, in either order (the lab's rows stay in ncci_ptp for the seeded RCM dataset)
    conn.execute("""CREATE VIEW ncci_ptp_in_force AS SELECT * FROM ncci_ptp p WHERE origin = 'cms-import'
                    OR NOT EXISTS (SELECT 1 FROM ncci_ptp q WHERE q.origin = 'cms-import'
                                   AND least(q.column1, q.column2) = least(p.column1, p.column2)
                                   AND greatest(q.column1, q.column2) = greatest(p.column1, p.column2))""")
    for view, system in (("cpt_codes", "cpt"), ("hcpcs_codes", "hcpcs"), ("modifiers", "modifier")):
        conn.execute(f"CREATE VIEW {view} AS SELECT * FROM catalogue WHERE system = '{system}'")
    for name, rows in simple_tables.items():
        _table(conn, name, rows, sorted({k for r in rows for k in r}) or ["code"])
    for system, title in (("cpt", "CPT teaching set"), ("hcpcs", "HCPCS Level II teaching subset"),
                          ("modifier", "CPT and HCPCS modifiers")):
        if counts.get(system):
            conn.execute("INSERT INTO code_systems VALUES (?, ?, ?, ?, ?, ?)",
                         [system, title, "2026 teaching set", "2026-01-01", None, f"medcodelab-{system}"])
    counts.update(cpt_licensed=len(licensed), ncci_ptp=len(pairs), mue=len(limits), mue_imported=len(official),
                  ncci_ptp_imported=len(official_pairs),
                  coverage_rules=len(rules),
                  **{k: len(v) for k, v in simple_tables.items()})
    return counts


def _rows(c: _Checker, where: str, rows: list, required: list[str]) -> list[dict]:
    out = []
    for n, row in enumerate(rows, start=1):
        if c.row(f"{where} #{n}", row, required):
            out.append({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in row.items()})
    return out


def _table(conn: duckdb.DuckDBPyConnection, name: str, rows: list[dict], columns: list[str]) -> None:
    frame = pd.DataFrame(rows, columns=columns).astype(object).where(lambda f: f.notna(), None)
    for column in frame.columns:
        frame[column] = frame[column].map(lambda v: None if v is None else str(v) if not isinstance(v, (int, float, bool)) else v)
    conn.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
