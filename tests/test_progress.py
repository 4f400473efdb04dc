"""The learner's progress: every practice check and recall answer recorded, mastery by topic,
suggestions from the bank, a plot; a damaged or unwritable file never stops practice."""

from __future__ import annotations

import datetime as dt

import matplotlib
import pytest

from medcodelab import progress

matplotlib.use("Agg")


def _day(n: int) -> dt.datetime:
    return dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=n)


def test_mastery_uses_the_latest_score_on_each_item(tmp_path):
    path = tmp_path / "p.jsonl"
    progress.record("encounter", "pc-001", ["diabetes"], 1, 4, path, _day(0))
    progress.record("encounter", "pc-001", ["diabetes"], 4, 4, path, _day(1))  # practised again, now right
    progress.record("encounter", "pc-002", ["diabetes", "hypertension"], 2, 4, path, _day(2))
    progress.record("recall", "r-1", ["hypertension"], 0, 1, path, _day(3))
    table = progress.mastery(path).set_index("topic")
    assert table.loc["diabetes", "mastery"] == pytest.approx((1.0 + 0.5) / 2)
    assert table.loc["diabetes", "items"] == 2 and table.loc["diabetes", "attempts"] == 3
    assert table.loc["hypertension", "mastery"] == pytest.approx(0.25)
    assert table.loc["hypertension", "status"] == "practise this"
    assert list(progress.mastery(path).topic) == ["hypertension", "diabetes"]  # weakest first


def test_a_topic_needs_enough_items_to_count_as_mastered(tmp_path):
    path = tmp_path / "p.jsonl"
    for n in range(progress.MIN_ITEMS):
        progress.record("encounter", f"c{n}", ["sepsis"], 1, 1, path)
        status = progress.mastery(path).set_index("topic").loc["sepsis", "status"]
        assert (status == "mastered") == (n + 1 >= progress.MIN_ITEMS), status


def test_a_damaged_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "p.jsonl"
    progress.record("recall", "r-1", ["conventions"], 1, 1, path)
    with path.open("a") as handle:
        handle.write("{not json\n" + '{"kind": "recall"}\n' + "\n")
    progress.record("recall", "r-2", ["conventions"], 0, 1, path)
    frame = progress.attempts(path)
    assert len(frame) == 2 and frame.attrs["skipped"] == 2
    assert progress.mastery(path).loc[0, "mastery"] == pytest.approx(0.5)


def test_an_unwritable_file_warns_once_and_never_raises(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    target = blocked / "progress.jsonl"  # a file where a folder should be
    with pytest.warns(UserWarning, match="could not be saved"):
        assert progress.record("recall", "r-1", ["x"], 1, 1, target) is False
    assert progress.record("recall", "r-1", ["x"], 1, 1, target) is False  # no second warning needed
    assert progress.mastery(target).empty
    with pytest.raises(ValueError):
        progress.record("quiz", "q", ["x"], 1, 1, tmp_path / "p.jsonl")


def test_suggestions_name_weak_topics_then_untried_ones_with_cases(tmp_path):
    from medcodelab import cases

    bank = cases()
    topic = bank.explode("topics").topics.value_counts().index[0]
    path = tmp_path / "p.jsonl"
    first = bank[bank.topics.apply(lambda t: topic in t)].case_id.iloc[0]
    progress.record("encounter", first, [topic], 1, 4, path)
    table = progress.suggest(path, how_many=3)
    assert table.loc[0, "topic"] == topic and table.loc[0, "why"] == "weakest so far"
    assert table.loc[0, "practise"] and all(c in set(bank.case_id) for c in table.loc[0, "practise"])
    assert set(table.why[1:]) == {"not tried yet"}
    empty = progress.suggest(tmp_path / "none.jsonl")
    assert len(empty) == 3 and set(empty.why) == {"not tried yet"}


def test_the_plot_draws_each_topic_and_an_empty_record(tmp_path):
    path = tmp_path / "p.jsonl"
    assert progress.plot(path).texts[0].get_text() == "no practice recorded yet"
    progress.record("encounter", "c1", ["injuries"], 3, 4, path)
    progress.record("recall", "r1", ["conventions"], 1, 1, path)
    ax = progress.plot(path)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["injuries", "conventions"]


def test_checks_in_the_coding_pad_and_recall_answers_are_recorded(tmp_path, monkeypatch):
    from medcodelab import case, cases
    from medcodelab.widgets import EncounterCoder, Recall

    path = tmp_path / "mine.jsonl"
    monkeypatch.setenv("MEDCODELAB_PROGRESS", str(path))
    case_id = cases()["case_id"].iloc[0]
    coder = EncounterCoder(case_id, answers_file=tmp_path / "a.json")
    coder.entry.value = ", ".join(k.code for k in case(case_id).diagnoses if not k.optional)
    coder.check.click()
    recall = Recall("r-excludes1", "What does Excludes1 mean?", "Never reported together...", "conventions")
    assert all(b.description and b.tooltip for b in (recall.reveal, recall.had_it, recall.missed))
    assert recall.had_it.layout.display == "none"
    recall.reveal.click()
    assert recall.had_it.layout.display is None and recall.answer.layout.display is None
    recall.missed.click()
    assert "Recorded" in recall.status.value
    frame = progress.attempts(path)
    assert list(frame.kind) == ["encounter", "recall"]
    assert frame.loc[0, "item"] == case_id and frame.loc[0, "earned"] == frame.loc[0, "possible"]
    assert frame.loc[1, "topics"] == ["conventions"] and frame.loc[1, "earned"] == 0


def test_practice_sets_are_varied_stable_and_stepped_through():
    import medcodelab as mcl
    from medcodelab.widgets import PracticeSet

    for topic in ("diabetes", "hypertension", "chronic-kidney-disease", "neoplasms", "injury", "pregnancy",
                  "sepsis", "substance-use", "covid-19", "bmi", "social-determinants"):
        ids = mcl.practice_set(topic)
        assert len(ids) == 6 and len(set(ids)) == 6 and ids == mcl.practice_set(topic), topic
        assert all(topic in mcl.case(c).topics for c in ids)
    templates = {mcl.case(c).template or c for c in mcl.practice_set("diabetes")}
    assert len(templates) == 6  # one variant per template before a second of any
    with pytest.raises(KeyError, match="no practice encounter"):
        mcl.practice_set("no-such-topic")
    widget = PracticeSet("sepsis")
    assert widget.previous.disabled and not widget.next.disabled
    assert all(b.description and b.tooltip for b in (widget.previous, widget.next)) and widget.choice.description
    widget.next.click()
    assert widget.coder.case.case_id == widget.case_ids[1] == widget.choice.value
    widget.choice.value = widget.case_ids[-1]
    assert widget.next.disabled and widget.coder.case.case_id == widget.case_ids[-1]
    with pytest.raises(ValueError):
        PracticeSet()
