"""The learner's own record: every practice check and recall answer, and mastery by topic.

Each attempt is one JSON line in the learner's file (``~/.medcodelab/progress.jsonl``, or the
file ``MEDCODELAB_PROGRESS`` names), so it survives restarts, belongs to the learner, and can
be read, copied or deleted like any file. Nothing here grades: the grader never reads it.

Mastery of a topic is the mean of the learner's *latest* score on each item tagged with it,
so practising an encounter again after a mistake raises it, and one lucky item does not make
a topic. A topic needs at least ``MIN_ITEMS`` items before it counts as mastered.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from pathlib import Path

import pandas as pd

MASTERED = 0.85
MIN_ITEMS = 3
KINDS = {"encounter", "recall", "claim"}
_warned: set[str] = set()


def progress_path() -> Path:
    """The learner's progress file."""
    env = os.environ.get("MEDCODELAB_PROGRESS")
    return Path(env) if env else Path.home() / ".medcodelab" / "progress.jsonl"


def record(kind: str, item: str, topics: list[str], earned: float, possible: float,
           path: str | Path | None = None, when: dt.datetime | None = None) -> bool:
    """Append one attempt. Never raises for a file problem (practice must not stop for it):
    returns False and warns once per file instead."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    target = Path(path) if path else progress_path()
    row = {"when": (when or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"), "kind": kind,
           "item": str(item), "topics": [str(t) for t in topics] or ["untagged"],
           "earned": round(float(earned), 4), "possible": float(possible)}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        return True
    except OSError as exc:
        if str(target) not in _warned:
            _warned.add(str(target))
            warnings.warn(f"your progress could not be saved to {target} ({exc.strerror or exc}); set "
                          "MEDCODELAB_PROGRESS to a file you can write", stacklevel=2)
        return False


def attempts(path: str | Path | None = None) -> pd.DataFrame:
    """Every attempt on record, oldest first; lines that cannot be read are skipped (and counted
    in ``attrs["skipped"]``), so a damaged line never hides the rest."""
    source = Path(path) if path else progress_path()
    rows, skipped = [], 0
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"when": str(row["when"]), "kind": str(row["kind"]), "item": str(row["item"]),
                         "topics": [str(t) for t in row["topics"]], "earned": float(row["earned"]),
                         "possible": float(row["possible"])})
        except (ValueError, KeyError, TypeError):
            skipped += 1
    frame = pd.DataFrame(rows, columns=["when", "kind", "item", "topics", "earned", "possible"])
    frame.attrs["skipped"] = skipped
    return frame


def mastery(path: str | Path | None = None) -> pd.DataFrame:
    """One row per topic: items practised, attempts, mastery (0-1) and a status."""
    frame = attempts(path)
    columns = ["topic", "items", "attempts", "mastery", "status"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(share=(frame.earned / frame.possible.where(frame.possible > 0)).clip(0, 1).fillna(0))
    latest = frame.groupby(["kind", "item"], sort=False).tail(1).explode("topics")
    tries = frame.explode("topics").groupby("topics").size()
    table = latest.groupby("topics").agg(items=("item", "nunique"), mastery=("share", "mean"))
    table["attempts"] = tries.reindex(table.index).fillna(0).astype(int)
    table = table.reset_index().rename(columns={"topics": "topic"})
    table["status"] = [_status(m, n) for m, n in zip(table.mastery, table["items"])]
    return table[columns].sort_values(["mastery", "topic"]).reset_index(drop=True)


def _status(share: float, items: int) -> str:
    if share >= MASTERED and items >= MIN_ITEMS:
        return "mastered"
    if share >= MASTERED:
        return f"good so far: practise {MIN_ITEMS - items} more"
    return "practise this" if share < 0.6 else "nearly there"


def suggest(path: str | Path | None = None, how_many: int = 3, conn=None) -> pd.DataFrame:
    """What to practise next: the weakest topics first, then topics not yet tried, each with
    practice encounters from the bank the learner has not mastered."""
    from . import db
    from .cases import store

    table = mastery(path)
    weak = [t for t, s in zip(table.topic, table.status) if s != "mastered"]
    done = attempts(path)
    mastered_items = set()
    if not done.empty:
        latest = done.groupby(["kind", "item"], sort=False).tail(1)
        mastered_items = {i for i, e, p in zip(latest.item, latest.earned, latest.possible) if p and e / p >= MASTERED}
    conn = conn or db.cursor()
    practice = store.list_practice(conn)
    tried = set(table.topic)
    by_topic: dict[str, list[str]] = {}
    for row in practice:
        for topic in row["topics"] or []:
            by_topic.setdefault(topic, []).append(row["case_id"])
    untried = sorted((t for t in by_topic if t not in tried), key=lambda t: -len(by_topic[t]))
    rows = []
    for topic in (weak + untried)[:how_many]:
        cases = [c for c in by_topic.get(topic, []) if c not in mastered_items][:3]
        why = "weakest so far" if topic in weak else "not tried yet"
        rows.append({"topic": topic, "why": why, "practise": cases})
    return pd.DataFrame(rows, columns=["topic", "why", "practise"])


def plot(path: str | Path | None = None, ax=None):
    """Mastery by topic as horizontal bars, with the mastered line; returns the axes."""
    import matplotlib.pyplot as plt

    table = mastery(path)
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, max(1.5, 0.35 * max(len(table), 1) + 0.8)))
    if table.empty:
        ax.text(0.5, 0.5, "no practice recorded yet", ha="center", va="center")
        ax.set_axis_off()
        return ax
    colours = ["#1b7f3b" if s == "mastered" else "#a66a00" if m >= 0.6 else "#b3261e"
               for s, m in zip(table.status, table.mastery)]
    ax.barh(table.topic, table.mastery, color=colours)
    ax.axvline(MASTERED, color="#555", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mastery (latest score on each item, averaged)")
    ax.set_title("Your mastery by topic")
    for y, (m, n) in enumerate(zip(table.mastery, table["items"])):
        ax.text(min(m + 0.01, 0.9), y, f"{m:.0%} · {n} item{'s' if n != 1 else ''}", va="center", fontsize=8)
    return ax
