"""Templates expand into keyed variants; the procedure validator catches every bad claim line."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import duckdb
import pytest

from medcodelab import paths
from medcodelab.cases import model, store, template
from medcodelab.cases.procedures import ProcedureRules, validate_procedures

ROOT = paths.PROJECT_ROOT

TEMPLATE = textwrap.dedent("""\
    id: t-wrist
    title: "Wrist fracture ({side.word})"
    specialty: orthopaedics
    setting: ed
    date_of_service: 2026-06-01
    patient: {sex: "{sex}", age: "{age}"}
    payer: Medicare
    difficulty: 2
    topics: [fractures]
    tags: {guideline: "I.C.19", cpc_domain: Surgery}
    slots:
      side:
        - {word: right, dx: S52.521A}
        - {word: left, dx: S52.522A}
      sex: [F, M]
      age: [70, 80]
      falls: [yes, no]
    only_if: ["{sex}{age} != M80"]
    note: |
      HPI: {pt.age_words} {pt.noun}; {pt.He} fell on {pt.his} {side.word} wrist.
    key:
      diagnoses:
        - code: "{side.dx}"
          rationale: torus fracture of the {side.word} radius
        - code: W19.XXXA
          when: "{falls}"
          optional: true
          rationale: fall
      acknowledged:
        - {code: "{side.dx}", note: use_additional, from: "19", reason: no retained foreign body}
    """)


def _write(tmp_path, text, name="t.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_template_renders_note_and_key_from_the_same_slots(tmp_path):
    variants = template.load_file(_write(tmp_path, TEMPLATE))
    # 2 sides x 2 sexes x 2 ages x 2 = 16, minus the 4 that only_if refuses
    assert len(variants) == 12
    assert [v.case_id for v in variants] == [f"t-wrist-v{i:02d}" for i in range(1, 13)]
    for v in variants:
        side = "right" if v.diagnoses[0].code == "S52.521A" else "left"
        assert f"{side} wrist" in v.note and side in v.title and side in v.diagnoses[0].rationale
        assert (v.sex, v.age) != ("M", 80)
        assert (" her " in v.note) == (v.sex == "F") and ("woman" in v.note) == (v.sex == "F")
        assert v.template == "t-wrist" and v.use == "practice" and v.specialty == "orthopaedics"
    with_fall = [v for v in variants if len(v.diagnoses) == 2]
    assert 0 < len(with_fall) < len(variants)
    assert all(v.diagnoses[1].optional for v in with_fall)


def test_sampling_is_seeded_and_duplicates_collapse(tmp_path):
    big = TEMPLATE.replace("age: [70, 80]", "age: [70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80]") \
        + "max_variants: 9\n"
    first = template.load_file(_write(tmp_path, big))
    again = template.load_file(_write(tmp_path, big))
    assert len(first) == 9
    assert [(v.note, v.diagnoses) for v in first] == [(v.note, v.diagnoses) for v in again]
    # a slot the note and key never use renders identical variants: they are one, not three
    dull = TEMPLATE.replace("falls: [yes, no]", "falls: [yes]\n  unused: [a, b, c]")
    assert len(template.load_file(_write(tmp_path, dull))) == 6


@pytest.mark.parametrize("change,message", [
    (("{side.word} wrist.", "{side.colour} wrist."), "cannot fill"),
    (("  falls: [yes, no]", "  pt: [a]"), "reserved"),
    (("only_if: [\"{sex}{age} != M80\"]", "only_if: [\"{sex} == X\"]"), "no combination"),
    (("  falls: [yes, no]", "  falls: []"), "non-empty list"),
    (("      rationale: fall", "      rationail: fall"), "unknown field"),
    (("specialty: orthopaedics", "specialty: astrology"), "specialty must be"),
])
def test_template_mistakes_are_named(tmp_path, change, message):
    with pytest.raises(model.CaseError, match=message):
        template.load_file(_write(tmp_path, TEMPLATE.replace(*change)))


def test_pronouns_follow_sex_and_age():
    assert template.pronouns("F", 0).noun == "infant"
    assert template.pronouns("M", 8).noun == "boy"
    assert template.pronouns("F", 15).noun == "adolescent girl"
    assert template.pronouns("M", 40).His == "His"
    assert template.pronouns("F", 0).age_words == "newborn"


def test_templates_in_an_assessment_folder_are_assessment_cases(tmp_path):
    folder = tmp_path / "private" / "templates" / "orthopaedics"
    folder.mkdir(parents=True)
    _write(folder, TEMPLATE)
    cases = model.load_folder(tmp_path / "private", "assessment")
    assert cases and {c.use for c in cases} == {"assessment"}


# --- the procedure validator -------------------------------------------------------------------

@pytest.fixture(scope="module")
def rules(built_database):
    with duckdb.connect(str(built_database), read_only=True) as conn:
        yield ProcedureRules(conn)


def _line(code, mods=(), units=1, pointers=(1,), mdm=None, minutes=None, exceeds=False):
    return model.ProcedureLine(code, "because", tuple(mods), units, tuple(pointers), "", exceeds, mdm, minutes)


def _mdm(p, d, r):
    return model.Mdm((p, "x"), (d, "x"), (r, "x"))


def _encounter(lines, codes=("M17.11",), age=60):
    return model.Encounter(
        case_id="t-1", title="t", use="practice", setting="office", date_of_service=dt.date(2026, 6, 1), sex="F",
        age=age, payer="x", difficulty=1, topics=[], note="note",
        diagnoses=[model.KeyCode(c, "because") for c in codes], procedures=list(lines))


LOW = _mdm("low", "limited", "low")


@pytest.mark.parametrize("lines,rule", [
    ([_line("99999")], "procedure-code"),                               # not in the teaching set
    ([_line("20610", ["ZZ"])], "modifier"),                             # no such modifier
    ([_line("20610", ["RT", "RT"])], "modifier"),                       # listed twice
    ([_line("20610", ["50", "RT"])], "bilateral"),                      # 50 says both sides already
    ([_line("20610", pointers=(2,))], "pointer"),                       # one diagnosis only
    ([_line("12001", units=2)], "mue"),                                 # MUE 1
    ([_line("12001", exceeds=True)], "mue"),                            # flagged but within the MUE
    ([_line("99292")], "add-on"),                                       # critical care add-on alone
    ([_line("93000"), _line("93005")], "ncci-ptp"),                     # indicator 0: never together
    ([_line("29881", ["RT"]), _line("20610")], "ncci-ptp"),              # indicator 1, no bypass modifier
    ([_line("29881", ["RT"]), _line("20610", ["RT"])], "ncci-ptp"),      # same knee: RT is no bypass
    ([_line("20610", ["59"])], "distinct-service"),                     # 59 with nothing to separate from
    ([_line("99213", mdm=LOW), _line("20610", ["RT"])], "modifier-25"),  # E/M with a 000-global procedure
    ([_line("20610", ["25"])], "modifier-25"),                          # 25 on a procedure
    ([_line("99213", ["25"], mdm=LOW)], "modifier-25"),                 # 25 with nothing else billed
    ([_line("99214", mdm=LOW)], "em-level"),                            # documented MDM supports 99213
    ([_line("99213")], "em-level"),                                     # no MDM or time given
    ([_line("99213", minutes=35)], "em-level"),                         # 35 minutes is 99214
    ([_line("99213", mdm=LOW, minutes=20)], "em-level"),                # one basis, not both
    ([_line("99396")], "age-edit"),                                     # 40-64 band; patient is 70 below
    ([_line("55700")], "sex-edit"),                                     # prostate biopsy; the patient is F
])
def test_procedure_validator_catches(lines, rule, rules):
    age = 70 if lines[0].code == "99396" else 60
    found = {p.rule for p in validate_procedures(_encounter(lines, age=age), rules)}
    assert rule in found, found


@pytest.mark.parametrize("lines,codes,age", [
    ([_line("99213", ["25"], mdm=LOW, pointers=(2,)), _line("20610", ["RT"]), _line("J3301", units=4)],
     ("M17.11", "M25.511"), 60),
    ([_line("29881", ["RT"]), _line("20610", ["XS", "RT"])], ("M17.11",), 60),  # indicator 1 with a bypass
    ([_line("29881", ["RT"]), _line("20610", ["LT"])], ("M17.11",), 60),  # the other knee
    ([_line("99214", mdm=_mdm("moderate", "minimal", "moderate"))], ("M17.11",), 60),  # two of three
    ([_line("99214", minutes=30)], ("M17.11",), 60),
    ([_line("99291"), _line("99292")], ("M17.11",), 60),
    ([_line("99396")], ("M17.11",), 50),
])
def test_procedure_validator_accepts_correct_lines(lines, codes, age, rules):
    assert validate_procedures(_encounter(lines, codes, age), rules) == []


def test_mdm_level_is_two_of_three():
    assert _mdm("high", "minimal", "moderate").level == "moderate"
    assert _mdm("high", "extensive", "low").level == "high"
    assert _mdm("minimal", "limited", "high").level == "low"


# --- the bank in the database and on the command line -------------------------------------------

def test_procedure_keys_reach_the_database_and_come_back(built_database):
    practice, assessment = store.load_all()
    with_lines = [c for c in practice if c.procedures]
    assert with_lines
    with duckdb.connect(str(built_database), read_only=True) as conn:
        stored = {r[0] for r in conn.execute("SELECT DISTINCT case_id FROM case_procedures").fetchall()}
        assert stored == {c.case_id for c in with_lines}
        sample = with_lines[len(with_lines) // 2]
        again = store.from_database(conn, sample.case_id)
        assessment_ids = {c.case_id for c in assessment}
        leaked = conn.execute("SELECT count(*) FROM cases WHERE use = 'assessment'").fetchone()[0]
    assert not stored & assessment_ids and leaked == 0
    assert again.procedures == sample.procedures
    assert [k.icd11 for k in again.diagnoses] == [k.icd11 for k in sample.diagnoses]
    assert (again.specialty, again.template, again.tags) == (sample.specialty, sample.template, sample.tags)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "medcodelab.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_cases_summary_counts_the_bank():
    out = _cli("cases", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert {"templates", "variants", "practice", "assessment", "by_specialty", "by_setting"} <= set(summary)
    assert json.loads(_cli("cases", "--summary", "--json").stdout) == summary
    listed = json.loads(_cli("cases", "--list", "--json").stdout)
    assert isinstance(listed, list) and len(listed) == summary["practice"]
    practice, assessment = store.load_all()
    assert summary["practice"] == len(practice) and summary["assessment"] == len(assessment)
    assert summary["variants"] == sum(1 for c in practice + assessment if c.template)
    assert sum(v["encounters"] for v in summary["by_specialty"].values()) == len(practice) + len(assessment)
    assert summary["hand_written_assessment"] == sum(1 for c in assessment if not c.template) <= summary["hand_written"]
    assert "rationale" not in out.stdout  # counts only, never keys
    text = _cli("cases", "--summary").stdout
    assert "templates giving" in text and "by specialty" in text


def test_validate_cases_takes_a_template_file(tmp_path):
    folder = tmp_path / "templates" / "orthopaedics"
    folder.mkdir(parents=True)
    good = _write(folder, TEMPLATE)
    out = _cli("validate-cases", str(good))
    assert out.returncode == 0 and "12 variant(s)" in out.stdout and "0 problem(s)" in out.stdout, out.stdout
    bad = _write(folder, TEMPLATE.replace("S52.522A", "S52.522"), "bad.yaml")
    out = _cli("validate-cases", str(bad))
    assert out.returncode == 1 and "billable" in out.stdout, out.stdout


def test_cases_filters_by_specialty():
    out = _cli("cases", "--specialty", "orthopaedics", "--json")
    rows = json.loads(out.stdout)
    assert rows and {r["specialty"] for r in rows} == {"orthopaedics"}


# --- per-course variants for graded work ---------------------------------------------------------

def test_a_course_seed_gives_each_course_its_own_template_variants(tmp_path, monkeypatch):
    import shutil

    import nbformat

    from autograder import keys, make_assignment
    from autograder.questions import MARKER

    folder = tmp_path / "private"
    shutil.copytree(ROOT / "autograder" / "cases", folder)
    (folder / "templates" / "orthopaedics").mkdir(parents=True)
    knee = (ROOT / "data" / "cases" / "templates" / "orthopaedics" / "knee-oa-injection.yaml").read_text()
    (folder / "templates" / "orthopaedics" / "knee.yaml").write_text(
        knee.replace("id: ortho-knee-oa-injection", "id: as-knee"))
    monkeypatch.setenv("MEDCODELAB_ASSESSMENT_CASES", str(folder))

    assert make_assignment.resolve("template:as-knee") == ("as-knee-v01", None)
    picks = {}
    for course in ("course-a", "course-b", "course-c", "course-d"):
        case_id, variant = make_assignment.resolve("template:as-knee", course)
        assert variant and make_assignment.resolve("template:as-knee", course) == (case_id, variant)
        case = keys.load(case_id, None, variant)
        assert case.use == "assessment" and case.case_id == case_id
        picks[course] = (case.note, tuple(k.code for k in case.diagnoses), tuple(p.units for p in case.procedures))
    assert len(set(picks.values())) > 1  # courses do not share one answer

    spec = {"id": "psx", "title": "t", "intro": "i", "encounters": ["as-001", "template:as-knee"],
            "_seed": "course-a"}
    nb = make_assignment.build_notebook(spec)
    markers = [MARKER.search(c.source) for c in nb.cells if "medcodelab-key" in c.source]
    assert markers[0]["variant"] is None and markers[1]["variant"]
    graded = keys.load(markers[1]["case"], markers[1]["digest"], markers[1]["variant"])
    assert graded.note == picks["course-a"][0]
    assert "course-a" not in nbformat.writes(nb)  # only the derived secret is written, never the seed
    (folder / "templates" / "orthopaedics" / "knee.yaml").write_text(knee.replace("id: ortho-knee-oa-injection",
                                                                                  "id: as-knee") + "\n# edited\n")
    with pytest.raises(keys.KeyError_, match="changed"):
        keys.load(markers[1]["case"], markers[1]["digest"], markers[1]["variant"])


def test_blind_review_packets_hide_the_key_and_compare_scores_by_script(tmp_path):
    import yaml

    from medcodelab.cases import review

    cases = review._all_cases()
    hand_written = [cid for cid, c in cases.items() if not c.template]
    want = min(5, len({c.template for c in cases.values() if c.template}))
    chosen = review.packets(5, "2026-12-04", tmp_path)
    assert len(chosen) == want and len({cases[c].template for c in chosen}) == want  # one variant per template
    chosen += review.packets(2, "x", tmp_path / "more", only_templates=False)
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) < 2:
        chosen.append(hand_written[0])
    for path in sorted(tmp_path.rglob("*.md")):
        cid = path.stem.split("-", 1)[1]
        text = path.read_text()
        case = cases[cid]
        assert case.note.strip()[:40] in text and case.title not in text
        assert not any(k.rationale in text for k in case.diagnoses)
        assert "rationale" not in text and "key" not in text.lower().replace("keyboard", "")
    right, wrong = chosen[0], chosen[1]
    answers = {
        right: {"diagnoses": [k.code for k in cases[right].diagnoses if not k.optional],
                "procedures": [{"code": p.code, "modifiers": list(p.modifiers), "units": p.units}
                               for p in cases[right].procedures]},
        wrong: {"diagnoses": ["R69"], "procedures": []},
    }
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    table, totals = review.compare(path)
    assert totals == {"cases": 2, "first": 1, "diagnoses": 1, "procedures": 1 + (not cases[wrong].procedures),
                      "all": 1}
    assert f"| {right} |" in table and "NO" in table


def test_slot_values_may_name_other_slots_and_duplicate_keys_are_refused(tmp_path):
    nested = TEMPLATE.replace("- {word: right, dx: S52.521A}", "- {word: right, dx: S52.521A, say: '{pt.His} {side.word} wrist'}") \
        .replace("- {word: left, dx: S52.522A}", "- {word: left, dx: S52.522A, say: '{pt.His} {side.word} wrist'}") \
        .replace("HPI: {pt.age_words}", "HPI: {side.say} hurts. {pt.age_words}")
    for v in template.load_file(_write(tmp_path, nested)):
        side = "right" if v.diagnoses[0].code == "S52.521A" else "left"
        assert f"{'Her' if v.sex == 'F' else 'His'} {side} wrist hurts." in v.note, v.note
        assert "{" not in v.note
    doubled = TEMPLATE.replace("difficulty: 2\n", "difficulty: 2\ndifficulty: 3\n")
    with pytest.raises(model.CaseError, match="given twice"):
        template.load_file(_write(tmp_path, doubled))
    when_empty = TEMPLATE.replace('when: "{falls}"', 'when: "{falls} != "')
    assert all(len(v.diagnoses) == 2 for v in template.load_file(_write(tmp_path, when_empty)))


def test_yaml_booleans_as_field_names_get_a_clear_message(tmp_path):
    bad = TEMPLATE.replace("- {word: right, dx: S52.521A}", "- {word: right, dx: S52.521A, on: x}") \
        .replace("- {word: left, dx: S52.522A}", "- {word: left, dx: S52.522A, on: y}")
    with pytest.raises(model.CaseError, match="not text"):
        template.load_file(_write(tmp_path, bad))


def test_review_packets_for_named_encounters(tmp_path):
    from medcodelab.cases import review

    wanted = ["pc-001", "pc-002", "pc-004"]
    chosen = review.packets(0, "named", tmp_path, case_ids=wanted)
    assert sorted(chosen) == sorted(wanted) and len(list(tmp_path.glob("*.md"))) == 3
    assert chosen == review.packets(0, "named", tmp_path / "again", case_ids=wanted)  # seeded order
    with pytest.raises(KeyError, match="no such case"):
        review.packets(0, "x", tmp_path / "bad", case_ids=["pc-001", "nope"])
