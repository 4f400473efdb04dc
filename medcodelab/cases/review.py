"""Blind review of the case bank: packets without keys, and a comparison done by script.

    python -m medcodelab.cases.review packets --sample 40 --seed 2026-12-04 --out /tmp/review
    python -m medcodelab.cases.review compare /tmp/review/answers.yaml

``packets`` writes one Markdown file per sampled encounter (chart header and note only: no key,
no title, no topics, which could give the answer away) and ``index.json`` naming the cases.
The reviewer answers in YAML, one entry per case::

    ortho-knee-oa-injection-v03:
      diagnoses: [M17.11, M25.511]            # required codes, in reporting order
      optional: [W19.XXXA]                    # external cause codes, if any
      procedures:                             # claim lines: code, modifiers, units
        - {code: "20610", modifiers: [RT], units: 1}
      notes: one line on any judgement call

``compare`` scores agreement on the first-listed code, the required diagnosis codes, and the
claim lines (code, modifiers as a set, units), and prints a Markdown table for REVIEW.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import yaml

from . import store


def _all_cases():
    practice, assessment = store.load_all()
    return {c.case_id: c for c in practice + assessment}


def packets(sample: int, seed: str, out: Path, only_templates: bool = True,
            case_ids: list[str] | None = None) -> list[str]:
    """Write packets for a random sample (one variant per template) or for ``case_ids``, in a
    seeded random order so neighbouring packets do not hint at each other."""
    cases = _all_cases()
    if case_ids is not None:
        unknown = [cid for cid in case_ids if cid not in cases]
        if unknown:
            raise KeyError(f"no such case: {', '.join(unknown)}")
        chosen = list(dict.fromkeys(case_ids))
        random.Random(seed).shuffle(chosen)
    else:
        pool = sorted(cid for cid, c in cases.items() if c.template or not only_templates)
        # one variant per template first, so the sample spreads over scenarios
        by_template: dict[str, list[str]] = {}
        for cid in pool:
            by_template.setdefault(cases[cid].template or cid, []).append(cid)
        rng = random.Random(seed)
        templates = sorted(by_template)
        rng.shuffle(templates)
        chosen = [rng.choice(by_template[t]) for t in templates[:sample]]
    out.mkdir(parents=True, exist_ok=True)
    for n, cid in enumerate(chosen, start=1):
        case = cases[cid]
        lines = [f"# Encounter {cid}", "", f"Setting: {case.setting_label}", f"Region: {case.region}", "",
                 "```", case.chart().rstrip(), "```", ""]
        (out / f"{n:03d}-{cid}.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "index.json").write_text(json.dumps({"seed": seed, "cases": chosen}, indent=1), encoding="utf-8")
    return chosen


def _line_key(line) -> tuple:
    if isinstance(line, dict):
        mods = line.get("modifiers") or []
        return (str(line.get("code", "")).upper(), frozenset(str(m).upper() for m in mods), int(line.get("units", 1)))
    return (line.code, frozenset(line.modifiers), line.units)


def _by_packet_note(packets_dir: Path, cases: dict) -> dict[str, str]:
    """Packet id -> the case whose note the packet shows (ids of a template's variants may be
    renumbered after a packet was written; the note is what the reviewer coded)."""
    by_note = {c.note.strip(): cid for cid, c in cases.items()}
    found = {}
    for path in packets_dir.glob("*.md"):
        packet_id = path.stem.split("-", 1)[1]
        body = path.read_text(encoding="utf-8").split("```", 2)[1]
        note = body.split("\n\n", 1)[1].strip() if "\n\n" in body else ""
        if note in by_note:
            found[packet_id] = by_note[note]
    return found


def compare(answers_path: Path, packets_dir: Path | None = None) -> tuple[str, dict]:
    cases = _all_cases()
    answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    if packets_dir is not None:
        moved = _by_packet_note(packets_dir, cases)
        answers = {moved.get(cid, cid): given for cid, given in answers.items()}
    rows, totals = [], {"cases": 0, "first": 0, "diagnoses": 0, "procedures": 0, "all": 0}
    for cid, given in answers.items():
        case = cases.get(cid)
        if case is None:
            rows.append(f"| {cid} | (no such case) | | | | |")
            continue
        required = [k.code for k in case.diagnoses if not k.optional]
        accepted = {k.code: {k.code, *k.also_accept} for k in case.diagnoses}
        theirs = [str(c).upper() for c in (given.get("diagnoses") or [])]

        def same(key_code: str, their: str) -> bool:
            return their in accepted.get(key_code, {key_code})

        first = bool(theirs) and same(required[0], theirs[0])
        dx_ok = len(theirs) == len(required) and all(any(same(k, t) for t in theirs) for k in required)
        key_lines = sorted(_line_key(line) for line in case.procedures)
        their_lines = sorted(_line_key(line) for line in (given.get("procedures") or []))
        proc_ok = [(c, sorted(m), u) for c, m, u in key_lines] == [(c, sorted(m), u) for c, m, u in their_lines]
        totals["cases"] += 1
        totals["first"] += first
        totals["diagnoses"] += dx_ok
        totals["procedures"] += proc_ok
        totals["all"] += first and dx_ok and proc_ok

        def show(lines):
            return "; ".join(f"{c}{'-' + '-'.join(sorted(m)) if m else ''}{' x' + str(u) if u != 1 else ''}"
                             for c, m, u in lines) or "-"

        rows.append(f"| {cid} | {', '.join(required)} / {show(key_lines)} | {', '.join(theirs)} / "
                    f"{show(their_lines)} | {'yes' if first else 'NO'} | {'yes' if dx_ok else 'NO'} | "
                    f"{'yes' if proc_ok else 'NO'} |")
    header = ["| case | key (diagnoses / claim lines) | reviewer | first-listed | diagnoses | claim lines |",
              "|---|---|---|---|---|---|"]
    return "\n".join(header + rows), totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medcodelab.cases.review")
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("packets")
    p.add_argument("--sample", type=int, default=40)
    p.add_argument("--seed", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--include-hand-written", action="store_true")
    p.add_argument("--cases", nargs="+", help="these encounters instead of a sample (e.g. a module's practice sets)")
    p = verbs.add_parser("compare")
    p.add_argument("answers", type=Path)
    p.add_argument("--packets", type=Path, help="the packet folder: match answers to cases by the note shown")
    args = parser.parse_args(argv)
    if args.verb == "packets":
        try:
            chosen = packets(args.sample, args.seed, args.out, not args.include_hand_written, args.cases)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        print(f"wrote {len(chosen)} packets to {args.out}")
        return 0
    table, totals = compare(args.answers, args.packets)
    print(table)
    n = totals["cases"] or 1
    print(f"\n{totals['cases']} cases: first-listed {totals['first']}/{n}, diagnoses {totals['diagnoses']}/{n}, "
          f"claim lines {totals['procedures']}/{n}, everything {totals['all']}/{n} ({100 * totals['all'] / n:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
