"""Score ICD-11 answers part by part: stem codes and the extensions postcoordinated onto them.

An ICD-11 diagnosis may be a cluster: stem codes joined by ``/`` and extension codes added with
``&`` (``9B10.0Y&XK9K``: a cataract stem with a laterality extension). A coder who picks the right
stem but leaves out the laterality, or adds the wrong one, has done part of the job, so each
part of a key cluster earns its share:

- each key cluster is worth one point per part (its stems and its extensions); the first-listed
  cluster earns one more point when the answer's first cluster has the key's first stem;
- a key part present in the learner's matching cluster earns its point; an extra part in that
  cluster (a wrong laterality, a severity the note does not give) costs ``EXTRA_PENALTY``;
- a cluster that matches no key cluster costs ``EXTRA_PENALTY`` (not a valid code: the same);
- optional key clusters (e.g. external causes) are worth nothing and cost nothing.

Clusters pair by their stems: a learner cluster goes with the key cluster it shares the most
stems with, and a stem from the same ICD-11 category as a key stem earns half that stem's
point (right category, wrong specificity). The result is a ``Score`` like ICD-10-CM's, so the
coding pad and the grader show it the same way.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from .diagnoses import (CORRECT, DUPLICATE, EXTRA, EXTRA_PENALTY, INVALID, MISPLACED, MISSING, OPTIONAL, PARTIAL,
                        Score, Verdict)
from .extract import split_codes

Checker = Callable[[object], dict]


def parts(cluster: str) -> tuple[list[str], list[str]]:
    """(stems, extensions) of a normalised cluster: ``1A00/XN1P3&XK9K`` style strings."""
    stems, extensions = [], []
    for group in cluster.split("/"):
        pieces = group.split("&")
        stems.append(pieces[0])
        extensions += pieces[1:]
    return stems, extensions


def _category(code: str) -> str:
    return code.split(".")[0]


def score_icd11(answer: Iterable[object] | object, key: Sequence[tuple], check: Checker,
                first_listed_label: str = "first-listed diagnosis") -> Score:
    """Score ``answer`` (clusters, in order) against ``key``: (cluster, optional, rationale, guideline[,
    accepted extra extensions]). An accepted extension the note supports earns nothing and costs nothing."""
    if isinstance(answer, str):
        answer = split_codes(answer)
    entries = [] if answer is None else list(answer)
    verdicts: list[Verdict] = []
    clusters: list[tuple[int, str]] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries):
        if isinstance(entry, str) and not entry.strip():
            continue
        result = check(entry)
        if result["status"] == "invalid" or not result["code"]:
            verdicts.append(Verdict(INVALID, result["code"] or result["input"], None, -EXTRA_PENALTY, 0,
                                    result["message"]))
            continue
        code = result["code"]
        if code in seen:
            verdicts.append(Verdict(DUPLICATE, code, None, 0, 0, f"{code} is listed twice; counted once"))
            continue
        seen.add(code)
        clusters.append((position, code))

    wanted = [(k, *parts(item[0]), item[0], item[1], item[2], item[3], set(item[4]) if len(item) > 4 else set())
              for k, item in enumerate(key)]
    possible = sum(len(s) + len(e) for _, s, e, _, optional, _, _, _ in wanted if not optional) + 1.0
    unused = list(range(len(clusters)))
    earned = 0.0
    for k, stems, extensions, cluster, optional, why, guide, accepted in wanted:
        # the learner's cluster sharing most stems (exact, then same category) with this key cluster
        best, best_overlap = None, 0.0
        for i in unused:
            got_stems, _ = parts(clusters[i][1])
            overlap = sum(1.0 if s in got_stems else 0.5 if any(_category(g) == _category(s) for g in got_stems)
                          else 0.0 for s in stems)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is None:
            if optional:
                verdicts.append(Verdict(OPTIONAL, None, cluster, 0, 0, f"{cluster} would also have been correct",
                                        why, guide))
            else:
                verdicts.append(Verdict(MISSING, None, cluster, 0, len(stems) + len(extensions),
                                        f"missing {cluster}", why, guide))
            continue
        unused.remove(best)
        position, got = clusters[best]
        got_stems, got_extensions = parts(got)
        credit = sum(1.0 if s in got_stems else 0.5 if any(_category(g) == _category(s) for g in got_stems)
                     else 0.0 for s in stems)
        credit += sum(1.0 for x in extensions if x in got_extensions)
        wrong = [x for x in got_extensions if x not in extensions and x not in accepted] + \
                [s for s in got_stems if s not in stems and not any(_category(s) == _category(t) for t in stems)]
        credit -= EXTRA_PENALTY * len(wrong)
        weight = len(stems) + len(extensions)
        if optional:  # e.g. an external cause: its stem confirms it, whatever place or object is added
            same = got_stems == stems
            verdicts.append(Verdict(OPTIONAL if same else PARTIAL, got, cluster, 0, 0,
                                    f"{got}: optional, " + ("confirmed" if same else f"the key has {cluster}"),
                                    why, guide))
            continue
        earned += credit
        missing = [x for x in extensions if x not in got_extensions] + [s for s in stems if s not in got_stems]
        if got == cluster or (not missing and not wrong):
            also = [x for x in got_extensions if x in accepted]
            said = f"{got} matches the key" + (f" (with {', '.join(also)}, which the note supports)" if also else "")
            verdicts.append(Verdict(CORRECT, got, cluster, credit, weight, said, why, guide))
        else:
            said = []
            if missing:
                said.append("missing " + ", ".join(missing))
            if wrong:
                said.append("not supported: " + ", ".join(wrong))
            verdicts.append(Verdict(PARTIAL, got, cluster, credit, weight,
                                    f"{got}: part right ({'; '.join(said)}); the key has {cluster}", why, guide))
        if k == 0:  # the sequencing point: the key's first stem leads the answer
            if clusters and clusters[0][1] == got and got_stems[0] == stems[0]:
                earned += 1.0
            else:
                verdicts.append(Verdict(MISPLACED, got, cluster, 0, 1,
                                        f"{cluster} is the {first_listed_label}: list it first", why, guide))
    for i in unused:
        _, got = clusters[i]
        earned -= EXTRA_PENALTY
        verdicts.append(Verdict(EXTRA, got, None, -EXTRA_PENALTY, 0, f"{got} is not supported by the note"))
    return Score(max(0.0, earned), possible, verdicts, first_listed_label)


def key_of(case) -> list[tuple[str, bool, str, str]]:
    """An encounter's ICD-11 key: the ``icd11`` of each key code that has one, in order. Two
    ICD-10-CM codes may map to one ICD-11 cluster (Z79.4 and Z79.84 both to QC48.Y): it is
    reported once, required if either code is."""
    key: dict[str, list] = {}
    for k in case.diagnoses:
        if not k.icd11:
            continue
        if k.icd11 in key:
            key[k.icd11][1] = key[k.icd11][1] and bool(k.optional)
            key[k.icd11][2] += " " + (k.rationale or "")
            key[k.icd11][4] = tuple(sorted(set(key[k.icd11][4]) | set(k.icd11_also)))
        else:
            key[k.icd11] = [k.icd11, bool(k.optional), k.rationale or "", k.guideline or "", tuple(k.icd11_also)]
    return [tuple(v) for v in key.values()]
