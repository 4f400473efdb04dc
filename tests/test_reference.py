"""The curated reference tables: the build refuses contradictions, the shipped tables are
consistent, and CPT/HCPCS/modifier checks, lookups and searches work by date."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

import medcodelab as mcl
from medcodelab import db
from medcodelab.build import licensed, reference
from medcodelab.codes.catalogue import Catalogue

ROOT = Path(__file__).resolve().parents[1]

CPT = [
    {"code": "99213", "summary": "Office visit, known patient, low-level decision making", "section": "evaluation-management",
     "global_days": "XXX", "effective_from": "2026-01-01", "source": "s", "checked": "knowledge"},
    {"code": "99215", "summary": "Office visit, known patient, high-level decision making", "section": "evaluation-management",
     "global_days": "XXX", "effective_from": "2026-01-01", "source": "s", "checked": "knowledge"},
    {"code": "99417", "summary": "Extra 15 minutes of prolonged office visit time", "section": "evaluation-management",
     "global_days": "ZZZ", "add_on": True, "primary_codes": ["99215"], "effective_from": "2026-01-01",
     "source": "s", "checked": "knowledge"},
    {"code": "0001U", "summary": "A retired lab test, for the date rule", "section": "pathology-laboratory",
     "global_days": "XXX", "effective_from": "2017-01-01", "effective_to": "2025-12-31", "source": "s",
     "checked": "knowledge"},
]


def load(tmp_path, monkeypatch, files: dict[str, dict]):
    check = mcl.codes.icd10cm().check  # the built ICD-10-CM, opened before the data folder moves
    folder = tmp_path / "reference"
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(yaml.safe_dump(content), encoding="utf-8")
    monkeypatch.setenv("MEDCODELAB_DATA_DIR", str(tmp_path))
    conn = duckdb.connect()
    conn.execute("CREATE TABLE code_systems (system VARCHAR, name VARCHAR, release VARCHAR, effective_from DATE, "
                 "effective_to DATE, source_id VARCHAR)")
    counts = reference.build_into(conn, check)
    return conn, counts


def problems(tmp_path, monkeypatch, files) -> list[str]:
    with pytest.raises(reference.InvalidReference) as caught:
        load(tmp_path, monkeypatch, files)
    return caught.value.problems


# --- the build refuses contradictions, listing every one ---------------------------------------

def test_every_problem_is_listed_not_just_the_first(tmp_path, monkeypatch):
    found = problems(tmp_path, monkeypatch, {
        "cpt.yaml": {"codes": CPT + [
            {"code": "1234", "summary": "x", "section": "surgery", "global_days": "000", "source": "s", "checked": "k"},
            {"code": "99213", "summary": "again", "section": "evaluation-management", "global_days": "XXX",
             "source": "s", "checked": "k"},
            {"code": "99999", "summary": "no source", "section": "medicine", "global_days": "XXX"},
            {"code": "99358", "summary": "an add-on", "section": "evaluation-management", "global_days": "ZZZ",
             "add_on": True, "primary_codes": ["99205"], "source": "s", "checked": "k"},
            {"code": "10060", "summary": "bad section", "section": "surgical", "global_days": "10", "source": "s",
             "checked": "k"}]},
        "ncci_ptp.yaml": {"pairs": [
            {"column1": "99215", "column2": "99213", "modifier_indicator": 0, "rationale": "r", "source": "s", "checked": "k"},
            {"column1": "99213", "column2": "99215", "modifier_indicator": 2, "rationale": "r", "source": "s", "checked": "k"},
            {"column1": "99213", "column2": "99213", "modifier_indicator": 1, "rationale": "r", "source": "s", "checked": "k"}]},
        "mue.yaml": {"limits": [{"code": "99213", "value": 0, "mai": 4, "rationale": "r", "source": "s", "checked": "k"}]},
        "coverage.yaml": {"rules": [{"id": "r1", "name": "n", "services": ["99213", "80061"], "basis": "b",
                                     "covered_diagnoses": ["E78.5", "E11"], "source": "s", "checked": "k"}]},
        "india.yaml": {"packages": [{"code": "P1", "name": "n", "specialty": "s"}]},
    })
    text = "\n".join(found)
    for expected in ["'1234' is not shaped like a cpt code", "99213 is listed twice", "missing source, checked",
                     "names primary 99205, which is not in the CPT or HCPCS table", "section must be one of",
                     "global_days must be one of", "modifier_indicator must be 0, 1 or 9",
                     "99213/99215 is also listed the other way round", "a code cannot be paired with itself",
                     "MUE value must be a whole number above 0", "MAI must be 1, 2 or 3",
                     "service 80061 is not in the CPT or HCPCS table",
                     "covered diagnosis E11 is not a billable ICD-10-CM code", "packages are illustrative"]:
        assert expected in text, f"missing: {expected}\n{text}"


def test_a_drug_code_needs_its_billing_unit(tmp_path, monkeypatch):
    found = problems(tmp_path, monkeypatch, {"hcpcs.yaml": {"codes": [
        {"code": "J1100", "description": "dexamethasone injection", "category": "J", "source": "s", "checked": "k"}]}})
    assert any("needs its billing unit" in p for p in found)


def test_the_build_stops_on_a_bad_table_and_keeps_the_old_database(tmp_path, monkeypatch):
    from medcodelab.build import database

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("build", "licensed"))
    (data / "reference" / "mue.yaml").write_text(yaml.safe_dump({"limits": [
        {"code": "99213", "value": -1, "mai": 1, "rationale": "r", "source": "s", "checked": "k"}]}))
    monkeypatch.setenv("MEDCODELAB_DATA_DIR", str(data))
    target = tmp_path / "out.duckdb"
    target.write_text("the previous build")
    with pytest.raises(database.BuildError, match="MUE value must be a whole number above 0"):
        database.build(target, force=True, progress=lambda m: None)
    assert target.read_text() == "the previous build"
    assert not list(tmp_path.glob(".out.duckdb*"))


# --- catalogue checks: shape, membership, dates ------------------------------------------------

@pytest.fixture
def cpt(tmp_path, monkeypatch):
    conn, counts = load(tmp_path, monkeypatch, {"cpt.yaml": {"codes": CPT}})
    assert counts["cpt"] == 4
    return Catalogue(conn, "cpt")


def test_cpt_check_by_shape_membership_and_date(cpt):
    assert cpt.check("99213")["status"] == "billable"
    assert cpt.check(" 99213 ", on="2026-03-01")["message"] == "99213 is a valid CPT code on 2026-03-01"
    assert "not shaped like a CPT code" in cpt.check("9921")["message"]
    assert "not shaped like a CPT code" in cpt.check("J1100")["message"]
    missing = cpt.check("99499")
    assert missing["status"] == "invalid" and "not in the lab's CPT teaching set" in missing["message"]
    assert "not the complete code set" in missing["message"]  # never claims the code does not exist
    retired = cpt.check("0001U", on="2026-02-01")
    assert retired["status"] == "invalid" and "deleted" in retired["message"] and "2025-12-31" in retired["message"]
    assert cpt.check("0001U", on="2025-06-01")["status"] == "billable"
    assert cpt.check("99213", on="2025-12-31")["status"] == "invalid"  # before effective_from
    assert "not a date" in cpt.check("99213", on="someday")["message"]
    assert "add-on" in cpt.check("99417")["message"]


@pytest.mark.parametrize("value", [None, 99213, "", "   ", "-", "9" * 300, "\x00", ["99213"]])
def test_catalogue_check_never_raises(cpt, value):
    assert cpt.check(value)["status"] == "invalid"


def test_lookup_shows_rules_and_never_ama_text(cpt):
    detail = cpt.lookup("99417")
    assert detail.rules["reported_with"] == "99215"
    assert "American Medical Association" in detail.as_text() and detail.official_descriptor is None
    assert cpt.lookup("12345") is None and cpt.lookup(None) is None


# --- the shipped tables ----------------------------------------------------------------------

def table(name: str) -> list[tuple]:
    return db.cursor().execute(f"SELECT * FROM {name}").fetchall()


def test_the_shipped_tables_are_loaded_and_sourced():
    cur = db.cursor()
    counts = dict(cur.execute("SELECT system, count(*) FROM catalogue GROUP BY system").fetchall())
    assert counts.get("cpt", 0) >= 80 and counts.get("hcpcs", 0) >= 40 and counts.get("modifier", 0) >= 30
    for name in ("ncci_ptp", "mue", "coverage_rules", "place_of_service", "group_codes", "carc", "rarc",
                 "payer_types", "india_packages", "snomed_sample", "loinc_sample", "crosswalk"):
        assert cur.execute(f"SELECT count(*) FROM {name}").fetchone()[0] > 0, name
    unsourced = cur.execute("SELECT system, code FROM catalogue WHERE coalesce(source, '') = '' "
                            "OR coalesce(checked, '') = ''").fetchall()
    assert unsourced == []
    assert set(mcl.systems()) == {"icd10cm", "icd11", "cpt", "hcpcs", "modifier"}


def test_cpt_summaries_are_short_plain_lines():
    for code, summary in db.cursor().execute(
            "SELECT code, description FROM catalogue WHERE system = 'cpt' AND checked <> 'licensed'").fetchall():
        assert 2 <= len(summary.split()) <= 25, code
        assert not summary.isupper(), code  # not a pasted all-capitals descriptor


def test_shipped_rules_agree_with_each_other():
    cur = db.cursor()
    procedure = {c for (c,) in cur.execute("SELECT code FROM catalogue WHERE system IN ('cpt', 'hcpcs')").fetchall()}
    both_ways = cur.execute("SELECT a.column1, a.column2 FROM ncci_ptp a JOIN ncci_ptp b "
                            "ON a.column1 = b.column2 AND a.column2 = b.column1").fetchall()
    assert both_ways == []
    for one, two, indicator in cur.execute("SELECT column1, column2, modifier_indicator FROM ncci_ptp").fetchall():
        assert {one, two} <= procedure and int(indicator) in (0, 1, 9)
    for code, value, mai in cur.execute("SELECT code, value, mai FROM mue WHERE origin = 'lab'").fetchall():
        assert code in procedure and int(value) > 0 and int(mai) in (1, 2, 3)
    for (code,) in cur.execute("SELECT code FROM coverage_services").fetchall():
        assert code in procedure
    check = mcl.codes.icd10cm().check
    for low, high in cur.execute("SELECT low, high FROM coverage_diagnoses").fetchall():
        assert check(low)["status"] == check(high)["status"] == "billable", (low, high)
        assert low <= high
    addons = {c for (c,) in cur.execute("SELECT code FROM catalogue WHERE system = 'cpt' "
                                        "AND json_extract(details, '$.add_on')::BOOLEAN").fetchall()}
    for addon, primary in cur.execute("SELECT * FROM cpt_addon_primaries").fetchall():
        assert addon in addons and primary in procedure, (addon, primary)
    groups = {g for (g,) in cur.execute("SELECT code FROM group_codes").fetchall()}
    for code, typical in cur.execute("SELECT code, typical_groups FROM carc").fetchall():
        assert set(json.loads(typical)) <= groups, code
    icd11 = {c for (c,) in cur.execute("SELECT code FROM icd11_entries").fetchall()}
    snomed = {c for (c,) in cur.execute("SELECT concept_id FROM snomed_sample").fetchall()}
    for concept, icd10, icd11_code, snomed_id in cur.execute(
            "SELECT concept, icd10cm, icd11, snomed FROM crosswalk").fetchall():
        assert check(icd10)["status"] == "billable", concept
        assert all(part in icd11 for part in re.split(r"[&/]", icd11_code)), concept
        assert snomed_id in snomed, concept


def test_a_date_before_a_table_vouches_for_a_code_is_said_plainly():
    """The CPT, HCPCS and modifier tables describe the 2026 code sets: an earlier date is not
    called invalid as if the code were new, and no date is vouched for without a start."""
    for system, code in (("hcpcs", "J1815"), ("cpt", "99213"), ("modifier", "25")):
        result = mcl.check(code, system=system, on="2025-06-01")
        assert result["status"] != "billable" and "check the 2025 code set" in result["message"], result
        assert "took effect" not in result["message"]
        assert mcl.check(code, system=system, on="2026-06-01")["status"] == "billable"
    starts = db.cursor().execute("SELECT count(*) FROM catalogue WHERE effective_from IS NULL AND system IN "
                                 "('cpt', 'hcpcs', 'modifier')").fetchone()[0]
    assert starts == 0


CATALOGUE_SEARCHES = [  # (system, query, expected in the top 10), also run by `make bench`
    ("cpt", "office visit established patient", "99213"),
    ("cpt", "colonoscopy biopsy", "45380"),
    ("cpt", "colonoscopy snare", "45385"),
    ("cpt", "chest x-ray", "71045"),
    ("hcpcs", "administration influenza vaccine", "G0008"),
    ("hcpcs", "dexamethasone injection", "J1100"),
    ("modifier", "left side", "LT"),
    ("modifier", "significant separately identifiable evaluation", "25"),
    ("modifier", "distinct procedural service", "59"),
]


@pytest.mark.parametrize("system, query, expected", CATALOGUE_SEARCHES)
def test_search_each_catalogue(system, query, expected):
    rows = mcl.search(query, system=system, limit=10)
    assert expected in [r["code"] for r in rows], rows


def test_modifier_and_hcpcs_checks():
    assert mcl.check("-25", system="modifier")["code"] == "25"
    assert mcl.check("lt", system="modifier")["status"] == "billable"
    assert mcl.check("25", system="hcpcs")["status"] == "invalid"
    j = db.cursor().execute("SELECT code, details FROM catalogue WHERE system = 'hcpcs' AND code LIKE 'J%' "
                            "LIMIT 1").fetchone()
    assert json.loads(j[1])["unit"], j


# --- which codes a modifier attaches to --------------------------------------------------------

@pytest.mark.parametrize("modifier, code, fits", [
    ("25", "99213", True),    # an E/M visit
    ("25", "92012", True),    # an eye exam Medicare treats like a visit
    ("25", "20610", False),   # a joint injection: 25 never goes on the procedure
    ("57", "99223", True),
    ("57", "27236", False),
    ("24", "99213", True),
    ("59", "99213", False),   # NCCI: never 59 on an E/M; 25 is the E/M modifier
    ("59", "97140", True),
    ("XS", "11042", True),
    ("51", "11045", False),   # an add-on is exempt from 51
    ("51", "99213", False),
    ("26", "99213", False),   # PC/TC indicator 0 on every E/M
    ("26", "71046", True),
    ("TC", "93306", True),
    ("50", "80053", False),   # a lab panel has no sides
    ("50", "69210", True),
    ("RT", "99213", False),
    ("LT", "73721", True),
    ("F5", "26720", True),    # a finger fracture
    ("F5", "99213", False),
    ("T5", "11730", True),    # a toenail
    ("E3", "92012", False),
    ("LD", "92928", True),
    ("LD", "93306", False),   # an echocardiogram is not a coronary intervention
    ("QW", "87880", True),
    ("QW", "99213", False),
    ("91", "80053", True),
    ("54", "27236", True),    # 90-day global
    ("54", "20610", False),   # 0-day global: nothing to split
    ("95", "99214", True),
    ("95", "90834", True),
    ("95", "45378", False),
    ("GP", "97110", True),
    ("GP", "99213", False),
    ("JZ", "J1100", True),
    ("JW", "E0114", False),   # crutches are not a drug
    ("JZ", "99213", False),   # JW/JZ are HCPCS drug modifiers
    ("RR", "E0114", True),
    ("NU", "J1100", False),
    ("GA", "80061", True),
    ("KX", "E0114", True),
    # the second pass: codes that are exceptions within a section
    ("25", "99292", True),    # CPT exempts add-ons from 51 only
    ("25", "G0463", True),    # the OPPS clinic visit
    ("25", "J1885", False),
    ("27", "G0463", True),
    ("JZ", "J9999", True),    # an unlisted drug is still a drug
    ("T5", "97597", True),    # wound debridement on a toe (NCCI prefers the digit modifier to 59)
    ("PT", "45378", True),
    ("PT", "G0500", True),    # the endoscopist's moderate sedation
    ("PT", "G0121", False),   # never on the screening G code itself
    ("51", "97110", False),   # CPT: not physical medicine
    ("51", "90715", False),   # CPT: not supplies such as vaccines
    ("51", "31500", False),   # a 51-exempt code
    ("26", "93010", False),   # already the interpretation only
    ("TC", "93005", False),   # already the tracing only
    ("26", "93000", False),   # global-only: the split has its own codes
    ("26", "80053", False),   # a clinical lab panel has no professional part
    ("26", "88305", True),    # surgical pathology does
    ("50", "93970", False),   # already both sides
    ("50", "77066", False),
    ("CQ", "97161", False),   # assistants do not evaluate
    ("CQ", "97110", True),
    ("95", "98000", False),   # telemedicine by definition
    ("95", "99421", False),   # a portal visit, not real-time
    ("91", "88305", False),   # anatomic pathology is not a repeatable clinical lab test
    ("76", "80053", False),   # a repeat lab test takes 91
    ("76", "71046", True),
    ("QW", "G0475", True),
    ("QW", "G0463", False),
    ("80", "00811", False),   # no assistant on anaesthesia
    # the second review
    ("26", "93018", False),   # the stress test's interpretation alone
    ("TC", "93017", False),   # its tracing alone
    ("26", "93015", False),   # the global stress test
    ("50", "92083", False),   # visual fields: one or both eyes by definition
    ("95", "99457", False),   # remote monitoring management is not a telehealth visit
    ("PT", "00811", True),
    ("PT", "00812", False),   # the screening anaesthesia code
])
def test_modifier_fits_the_codes_its_definition_allows(modifier, code, fits):
    result = mcl.modifier_fits(modifier, code)
    assert result["fits"] is fits, result
    assert result["message"]
    if not fits:
        assert modifier in result["message"] and code in result["message"]


def test_every_shipped_modifier_says_what_it_attaches_to():
    rows = db.cursor().execute("SELECT code, details FROM catalogue WHERE system = 'modifier'").fetchall()
    assert len(rows) >= 40
    for code, details in rows:
        rule = json.loads(details)["attaches"]
        assert rule["summary"].strip(), code
    shown = repr(mcl.lookup("25", system="modifier"))
    assert "attaches to: E/M visits" in shown and "{" not in shown.split("attaches to:")[1].splitlines()[0]


def test_modifier_fits_says_which_part_is_wrong_and_never_raises():
    assert mcl.modifier_fits("ZZ", "99213")["fits"] is None
    assert "modifier" in mcl.modifier_fits("ZZ", "99213")["message"]
    assert mcl.modifier_fits("25", "9921")["fits"] is None
    assert mcl.modifier_fits("25", "9921")["message"].startswith("code:")
    for junk in (None, 25, "", "-", "25-25", "99213\n"):
        result = mcl.modifier_fits(junk, junk)
        assert result["fits"] is None and result["message"]


def test_a_bad_attach_rule_stops_the_build(tmp_path, monkeypatch):
    base = {"title": "t", "description": "d", "kind": "payment", "ncci_bypass": False, "source": "s", "checked": "k"}
    found = "\n".join(problems(tmp_path, monkeypatch, {"modifiers.yaml": {"modifiers": [
        {**base, "code": "25", "applies_to": ["cpt"]},
        {**base, "code": "57", "applies_to": ["cpt"], "attaches": {"summary": "x", "cpt_sections": ["e/m"]}},
        {**base, "code": "24", "applies_to": ["cpt"], "attaches": {"summary": "", "cpt_codes": ["92014-92002"]}},
        {**base, "code": "27", "applies_to": ["cpt", "hcpcs"], "attaches": {"summary": "x", "hcpcs_codes": ["99213"]}},
        {**base, "code": "JZ", "applies_to": ["hcpcs"], "attaches": {"summary": "x", "not_add_on": True,
                                                                     "sides": ["L"]}},
    ]}}))
    for expected in ["25 needs an attaches rule", "attaches.cpt_sections has ['e/m']",
                     "24: attaches needs a summary", "'92014-92002' is not a CPT code or a first-last range", "'99213' is not a HCPCS code",
                     "unknown keys ['sides']", "the modifier does not apply to CPT"]:
        assert expected in found, f"missing: {expected}\n{found}"


def test_cli_check_a_modifier_on_a_code():
    ok = cli("check", "25", "--system", "modifier", "--on-code", "99213", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["fits"] is True
    bad = cli("check", "25", "--system", "modifier", "--on-code", "20610")
    assert bad.returncode == 1 and bad.stdout.startswith("misfit") and "E/M visits" in bad.stdout
    wrong = cli("check", "E11.9", "--on-code", "20610")
    assert wrong.returncode == 2 and "--system modifier" in wrong.stderr


# --- sources and the CLI ------------------------------------------------------------------------

def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "medcodelab.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_sources_names_every_table_and_its_licence():
    out = cli("sources", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert all({"table", "source", "version", "license", "rows"} <= set(r) for r in rows)
    by_table = {r["table"]: r for r in rows if r["table"]}
    assert "CC BY-ND 3.0 IGO" in by_table["icd11_entries"]["license"] and by_table["icd11_entries"]["rows"] > 33000
    assert "no AMA descriptor text" in by_table["cpt_codes"]["license"]
    for table in ("icd10cm_entries", "cases", "hcpcs_codes", "modifiers", "ncci_ptp", "mue", "coverage_rules",
                  "place_of_service", "group_codes", "carc", "rarc", "payer_types", "india_packages",
                  "snomed_sample", "loinc_sample", "crosswalk", "cpt_addon_primaries"):
        assert by_table[table]["rows"] > 0, table
        assert by_table[table]["rows"] == db.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    assert "SNOMED" in by_table["snomed_sample"]["license"] and "LOINC" in by_table["loinc_sample"]["license"]
    assert any(r["table"] is None and "Guidelines" in r["source"] for r in rows)  # cited, stores no table
    text = cli("sources").stdout
    assert "who-icd11-mms" in text and "icd11_entries:" in text
    assert "sources()" in repr(mcl.welcome())


def test_cli_systems_and_bad_system():
    assert cli("check", "--system", "icd11", "5A11").returncode == 0
    bad = cli("check", "--system", "icd9", "250.00")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    lookup = cli("lookup", "--system", "icd11", "5A11")
    assert "CC BY-ND 3.0 IGO" in lookup.stdout


# --- a site's licensed CPT file ---------------------------------------------------------------

def test_parse_accepts_the_usual_layouts():
    text = ("CODE\tDESCRIPTOR\n99213\tFAKE descriptor one\n"
            "99214|FAKE two\n\"99215\",\"FAKE, three\"\n99417   FAKE four\n99417\tcontinued\nnot a line\n")
    parsed, skipped = licensed.parse(text)
    assert parsed == {"99213": "FAKE descriptor one", "99214": "FAKE two", "99215": "FAKE, three",
                      "99417": "FAKE four continued"}
    assert skipped == 2


def test_import_cpt_is_kept_out_of_git_and_used_by_the_build(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("build", "licensed"))
    env = {**__import__("os").environ, "MEDCODELAB_DATA_DIR": str(data), "MEDCODELAB_DB": str(tmp_path / "l.duckdb")}
    source = tmp_path / "LONGULT.txt"  # made-up text standing in for a licensed file; no AMA words
    source.write_text("99213\tTEST-ONLY descriptor for an office visit\n98765\tTEST-ONLY code the lab does not teach\n")
    bad = cli("import-cpt", str(tmp_path / "missing.txt"), env=env)
    assert bad.returncode == 1 and "nothing imported" in bad.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing useful here\n")
    assert "no line of empty.txt" in cli("import-cpt", str(empty), env=env).stderr
    done = cli("import-cpt", str(source), env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 2 CPT descriptors" in done.stdout
    stored = data / "licensed" / "cpt_descriptors.tsv"
    assert stored.exists()
    ignored = subprocess.run(["git", "check-ignore", "-q", "data/licensed/cpt_descriptors.tsv"], cwd=ROOT)
    assert ignored.returncode == 0  # the path is git-ignored in the repository
    looked = json.loads(cli("lookup", "--system", "cpt", "99213", "--json", env=env).stdout)
    assert looked["official_descriptor"] == looked["description"] == "TEST-ONLY descriptor for an office visit"
    ours = db.cursor().execute("SELECT description FROM catalogue WHERE code = '99213'").fetchone()[0]
    assert looked["details"]["lab_summary"] == ours  # the lab's own summary stays beside it
    assert json.loads(cli("check", "--system", "cpt", "99213", "--json", env=env).stdout)["description"] == \
        "TEST-ONLY descriptor for an office visit"
    extra = json.loads(cli("check", "--system", "cpt", "98765", "--json", env=env).stdout)
    assert extra["status"] == "billable" and extra["description"].startswith("TEST-ONLY")
    found = json.loads(cli("search", "--system", "cpt", "TEST-ONLY code", "--json", env=env).stdout)
    assert found and found[0]["code"] == "98765"
    listed = json.loads(cli("sources", "--json", env=env).stdout)
    assert any(r["table"] == "cpt_licensed" and r["rows"] == 2 and "never redistributed" in r["license"] for r in listed)


# --- a site's copy of the official CMS MUE table --------------------------------------------------

MUE_NOTICE = '"TEST FIXTURE laid out like the CMS file; made-up values, not the CMS table.\nSecond line of the notice.",,,\n'
MUE_HEADER = '"HCPCS/\nCPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n'


def _mue_zip(path: Path, rows: str, member: str = "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv") -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, MUE_NOTICE + MUE_HEADER + rows)
        archive.writestr("MCR_MUE_PractitionerServices_Eff_01-01-2027.xlsx", b"not read")
    return path


def test_import_mue_takes_the_cms_layout_and_every_code(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("build", "licensed"))
    env = {**__import__("os").environ, "MEDCODELAB_DATA_DIR": str(data), "MEDCODELAB_DB": str(tmp_path / "m.duckdb")}
    # refusals name the problem and import nothing
    dme = tmp_path / "MCR_MUE_DMESupplierServices_Eff_01-01-2027.csv"
    dme.write_text(MUE_NOTICE + MUE_HEADER.replace("Practitioner", "DME Supplier") + "E0114,1,\"3 x\",r\n")
    assert "import the Practitioner Services MUE table" in cli("import-mue", str(dme), "--no-build", env=env).stderr
    undated = tmp_path / "mue.csv"
    undated.write_text(MUE_NOTICE + MUE_HEADER + "96372,9,\"3 Date of Service Edit: Clinical\",Clinical: Data\n")
    assert "--effective" in cli("import-mue", str(undated), "--no-build", env=env).stderr
    sheet = tmp_path / "table.xlsx"
    sheet.write_bytes(b"PK")
    assert "use the .csv file" in cli("import-mue", str(sheet), env=env).stderr
    assert not (data / "licensed" / "mue_practitioner.tsv").exists()

    for junk, said in ((b"%PDF-1.7 not a table", "is a PDF"), (bytes(range(256)) * 40, "binary file"),
                       (b"PK\x03\x04 a workbook renamed", "Excel workbook or a ZIP"),
                       (b'"HCPCS/CPT Code;Practitioner Services MUE Values;MAI;Rationale"\n', "not comma-separated"),
                       (b'"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
                        b'"MUE Rationale"\n"99213,1,\n' + b"x" * 200_000, "breaks off after 0 rows")):
        bad = tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv"
        bad.write_bytes(junk)
        out = cli("import-mue", str(bad), "--no-build", env=env)
        assert out.returncode == 1 and out.stderr.startswith("nothing imported") and said in out.stderr, out.stderr
    broken = tmp_path / "broken.zip"
    _mue_zip(broken, "99202,1,\"2 x\",y\n" * 2000)
    raw = bytearray(broken.read_bytes())
    raw[120:160] = b"\x00" * 40  # damage the compressed data
    broken.write_bytes(bytes(raw))
    out = cli("import-mue", str(broken), "--effective", "2027-01-01", "--no-build", env=env)
    assert out.returncode == 1 and "nothing imported" in out.stderr and "Traceback" not in out.stderr, out.stderr
    clash = cli("import-mue", str(undated), "--effective", "2027-04-01", "--no-build", env=env)
    assert clash.returncode == 0  # no date in the name: --effective says it
    assert "contradicts the file name" in cli("import-mue", str(tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv"),
                                              "--effective", "2027-04-01", "--no-build", env=env).stderr
    assert cli("import-mue", str(undated), "--remove", env=env).returncode == 2
    assert "lab's own MUE rows are in use again" in cli("import-mue", "--remove", "--no-build", env=env).stdout

    rows = ('99202,2,"3 Date of Service Edit: Clinical",Clinical: Data\n'   # the lab says 1 (MAI 2)
            '96372,9,"3 Date of Service Edit: Clinical",Clinical: Data\n'   # the lab holds no row
            '96372,4,"3 Date of Service Edit: Clinical",Clinical: Data\n'   # listed again: reported, first kept
            '0999T,3,"1 Line Edit",Code Descriptor / CPT Instruction\n'     # outside the teaching set
            'G0999,0,"2 Date of Service Edit: Policy",Nature of Service/Procedure\n'
            '99205,1.5,"2 x",y\n'
            'not a code,1,"2 x",y\n')
    done = cli("import-mue", str(_mue_zip(tmp_path / "mue.zip", rows)), env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 3 MUE rows effective 2027-01-01" in done.stdout and "1 code(s) CMS gives MUE 0" in done.stdout
    for reason in ("1 code listed again with another value (first kept), e.g. '96372,4",
                   "1 value not a whole number from 0 to 9999", "1 not a CPT/HCPCS code"):
        assert reason in done.stdout, done.stdout
    assert subprocess.run(["git", "check-ignore", "-q", "data/licensed/mue_practitioner.tsv"], cwd=ROOT).returncode == 0
    looked = json.loads(cli("lookup", "--system", "cpt", "99202", "--json", env=env).stdout)["rules"]["mue"]
    assert looked.startswith("1 unit(s) per day (MAI 2)") and "2 unit(s) per day (MAI 3), CMS table effective 2027-01-01" \
        in looked and "the value claims are checked against" in looked
    probe = ("import json; from medcodelab import db; from medcodelab.cases.procedures import ProcedureRules; "
             "import datetime as d; r = ProcedureRules(db.cursor()); print(json.dumps([r.limit('99202'), "
             "r.limit('96372'), r.limit('0999T'), r.limit('G0999'), r.limit('99202', d.date(2026, 12, 31)), "
             "r.limit('99202', d.date(2027, 1, 1))]))")
    used = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    # the official table rules from its quarter on; before it, the lab's row still does
    assert json.loads(used.stdout) == [[2, 3], [9, 3], [3, 1], [0, 2], [1, 2], [2, 3]], used.stderr
    listed = json.loads(cli("sources", "--json", env=env).stdout)
    assert any(r["table"] == "mue" and "import-mue" in r["source"] and "public domain" in r["license"]
               and r["version"] == "effective 2027-01-01" for r in listed)

    # an official limit a key breaks stops the build by name, and keeps the database that worked
    # (a table from January 2026: the 2027 one above does not reach the cases' 2026 dates of service)
    strict = _mue_zip(tmp_path / "strict.zip", '96372,1,"2 Date of Service Edit: Policy",Code Descriptor / CPT Instruction\n',
                      member="MCR_MUE_PractitionerServices_Eff_01-01-2026.csv")
    kept = (data / "licensed" / "mue_practitioner.tsv").read_text()
    stopped = cli("import-mue", str(strict), env=env)
    assert stopped.returncode == 1 and "96372" in stopped.stderr and "previous import is back" in stopped.stderr
    assert (data / "licensed" / "mue_practitioner.tsv").read_text() == kept  # a refused import changes nothing
    still = json.loads(cli("lookup", "--system", "cpt", "96372", "--json", env=env).stdout)["rules"]["mue"]
    assert still.startswith("9 unit(s)")
    back = cli("import-mue", "--remove", env=env)
    assert back.returncode == 0 and "lab's own MUE rows are in use again" in back.stdout
    assert "mue" not in json.loads(cli("lookup", "--system", "cpt", "96372", "--json", env=env).stdout)["rules"]


PTP_NOTICE = ("CPT codes only copyright TEST FIXTURE; made-up edits laid out like the CMS file, not the CMS table.\n"
              "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
              "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n")


def test_import_ncci_keeps_official_edits_between_codes_the_lab_holds(tmp_path):
    import zipfile

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("build", "licensed"))
    env = {**__import__("os").environ, "MEDCODELAB_DATA_DIR": str(data), "MEDCODELAB_DB": str(tmp_path / "p.duckdb")}
    junk = tmp_path / "notes.txt"
    junk.write_text("nothing here\tat all\n")
    assert "holds no PTP edit lines" in cli("import-ncci", str(junk), "--no-build", env=env).stderr
    assert cli("import-ncci", env=env).returncode == 2

    part1 = tmp_path / "ccipra-v999r0-f1.txt"
    part1.write_text(PTP_NOTICE
                     + "45385\t45380\t\t20260101\t*\t1\tTEST made-up rationale\n"   # the lab holds this pair
                     + "93000\t36415\t\t20260101\t*\t0\tTEST made-up rationale\n"   # the lab does not
                     + "0999T\t99213\t\t20260101\t*\t1\tTEST code the lab does not hold\n")
    part2 = tmp_path / "ccipra-v999r0-f2.zip"
    with zipfile.ZipFile(part2, "w") as archive:
        archive.writestr("ccipra-v999r0-f2.txt", PTP_NOTICE
                         + "17110\t11102\t*\t20250101\t20260401\t1\tTEST deleted from April 2026\n"
                         + "17110\t11102\t*\t20250101\t2026041\t1\tTEST a broken date\n"
                         + "17110\t11102\t*\t20251345\t*\t1\tTEST not a real date\n"
                         + "87880\t81002\t\t20260101\t20250101\t1\tTEST deleted before it began\n"
                         + "96372\t36415\t\t20260101\t*\t1\tTEST both ways: older\n"
                         + "36415\t96372\t\t20260301\t*\t0\tTEST both ways: newer\n"
                         + "j3490\t17110\t\t20260101\t*\t1\tTEST lower case\tsecond half\n")
        archive.writestr("__MACOSX/._ccipra-v999r0-f2.txt", b"\x00\x05\x16\x07 resource fork")
        archive.writestr("README.txt", "Notes from CMS, no edits here.\n")
    folder = tmp_path / "parts"
    folder.mkdir()
    shutil.copy(part2, folder / part2.name)
    assert cli("import-ncci", str(part1), "--remove", env=env).returncode == 2
    done = cli("import-ncci", str(part1), str(folder), str(part1), env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 6 PTP edits" in done.stdout and "1 edits between other codes left out" in done.stdout
    for note in ("only part(s) f1, f2 were given", "2 line(s) skipped: a date that is not a real YYYYMMDD date",
                 "1 line(s) skipped: a deletion date before the effective date", "1 pair(s) are in force both ways"):
        assert note in done.stdout, done.stdout
    assert "J3490 (col 1) / 17110 (col 2), modifier indicator 1" in json.loads(
        cli("lookup", "--system", "hcpcs", "J3490", "--json", env=env).stdout)["rules"]["ncci_pairs"]
    stored = (data / "licensed" / "ncci_ptp_practitioner.tsv").read_text()
    assert "TEST lower case second half" in stored
    assert subprocess.run(["git", "check-ignore", "-q", "data/licensed/ncci_ptp_practitioner.tsv"],
                          cwd=ROOT).returncode == 0
    shown = json.loads(cli("lookup", "--system", "cpt", "45385", "--json", env=env).stdout)["rules"]["ncci_pairs"]
    assert "45385 (col 1) / 45380 (col 2), modifier indicator 1, CMS import" in shown
    assert shown.count("45380 (col 2)") == 1  # the official row replaces the lab's for the same two codes
    probe = ("import json, datetime as d; from medcodelab import db; from medcodelab.cases.procedures import "
             "ProcedureRules; r = ProcedureRules(db.cursor()); "
             "print(json.dumps([r.pair('36415', '93000', d.date(2026, 5, 1)), r.pair('17110', '11102', d.date(2026, 3, 31)), "
             "r.pair('11102', '17110', d.date(2026, 4, 1)), r.pair('96372', '36415', d.date(2026, 6, 1)), "
             "r.pair('36415', '96372', d.date(2026, 6, 1)), r.pair('36415', '96372', d.date(2026, 2, 1))]))")
    used = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(used.stdout) == [[0, "93000", "36415"], [1, "17110", "11102"], None,
                                       [0, "36415", "96372"], [0, "36415", "96372"],  # the newer edit, either order
                                       [1, "96372", "36415"]], used.stderr
    listed = json.loads(cli("sources", "--json", env=env).stdout)
    assert any(r["table"] == "ncci_ptp" and "import-ncci" in r["source"] and "ccipra-v999r0-f1.txt" in r["version"]
               for r in listed)

    # an official edit that a key breaks stops the build by name; --remove goes back to the lab's pairs
    strict = tmp_path / "ccipra-v999r1-f1.txt"
    strict.write_text(PTP_NOTICE + "45385\t45380\t\t20260101\t*\t0\tTEST made-up: never together\n")
    kept = (data / "licensed" / "ncci_ptp_practitioner.tsv").read_text()
    stopped = cli("import-ncci", str(strict), env=env)
    assert stopped.returncode == 1 and "45380" in stopped.stderr and "previous import is back" in stopped.stderr
    assert (data / "licensed" / "ncci_ptp_practitioner.tsv").read_text() == kept
    back = cli("import-ncci", "--remove", env=env)
    assert back.returncode == 0 and "lab's own NCCI pairs are in use again" in back.stdout
    shown = json.loads(cli("lookup", "--system", "cpt", "45385", "--json", env=env).stdout)["rules"]["ncci_pairs"]
    assert "CMS import" not in shown and "45380 (col 2)" in shown
