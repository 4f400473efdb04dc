"""The claim workbench, driven the way a learner drives it (no browser)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from medcodelab.claims import load
from medcodelab.claims.workqueue import Practice
from medcodelab.widgets import ClaimWorkbench

from test_claims import EXAMPLES


@pytest.fixture
def practice(built_database):
    conn = duckdb.connect(str(built_database), read_only=True)
    yield Practice(conn, today=dt.date(2026, 8, 1))
    conn.close()


def test_fix_a_bundling_denial_in_the_workbench(practice):
    bench = ClaimWorkbench(load(EXAMPLES / "04-ncci-bundled.json"), practice)
    assert "HEALTH INSURANCE CLAIM FORM" in bench.form.value and "29881" in bench.form.value
    edits = bench.run_scrub()
    assert any(e.rule == "ncci-ptp" for e in edits) and "ncci-ptp" in bench.result.value
    remit = bench.submit()
    assert remit.status == "partly denied" and "CO-97" in bench.result.value
    bench.lines_box.children[1].modifiers.value = "LT"  # the note says the other knee
    assert bench.run_scrub() == [] and "Clean" in bench.result.value
    again = bench.submit()
    assert again.status == "paid" and "corrected claim" in bench.result.value
    assert bench.claim.frequency == "7" and practice.queue().empty


def test_workbench_edits_lines_and_shows_x12(practice):
    bench = ClaimWorkbench(load(EXAMPLES / "01-clean-office-visit.json"), practice)
    bench.add_line.click()
    new = bench.lines_box.children[-1]
    new.code.value, new.units.value, new.pointers.value, new.charge.value = "83036", 1, "A", 45.0
    claim = bench.current()
    assert claim.lines[-1].code == "83036" and claim.lines[-1].pointers == (1,)
    assert any(e.rule == "medical-necessity" for e in bench.run_scrub())  # A1c for hyperlipidemia
    bench.remove_line.click()
    assert len(bench.current().lines) == 3
    bench.show_x12.value = True
    assert "ISA*" in bench.raw.value and "SV1*HC:99213" in bench.raw.value and "BPR*" not in bench.raw.value
    bench.submit()
    assert "BPR*" in bench.raw.value  # the payer's 835 appears beside the 837P once it answers


def test_workbench_from_an_encounter_and_a_rejection(practice):
    from medcodelab import cases

    case_id = next(c for c in cases()["case_id"] if c.startswith("ortho-knee-oa-injection"))
    bench = ClaimWorkbench(case_id, practice)
    assert "The encounter note" in bench.children[0].get_title(0)
    bench.diagnoses.value = "M17"  # a heading: the payer's front end rejects the claim
    remit = bench.submit()
    assert remit.status == "rejected" and "Rejected" in bench.result.value
    labelled = [bench.payer, bench.pos, bench.auth, bench.diagnoses]
    assert all(x.description and x.tooltip for x in labelled)
