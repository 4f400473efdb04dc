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


def groups(cluster: str) -> list[tuple[str, list[str]]]:
    """The stem groups of a cluster: ``5A11/BD54&XK8G`` -> [("5A11", []), ("BD54", ["XK8G"])]."""
    out = []
    for group in cluster.split("/"):
        pieces = group.split("&")
        out.append((pieces[0], pieces[1:]))
    return out


def score_icd11(answer: Iterable[object] | object, key: Sequence[tuple], check: Checker,
                first_listed_label: str = "first-listed diagnosis") -> Score:
    """Score ``answer`` (clusters, in order) against ``key``: (cluster, optional, rationale, guideline[,
    accepted extra extensions]). An accepted extension the note supports earns nothing and costs nothing.

    Parts are compared stem group by stem group (a stem with the extensions after it), whichever
    way the learner joined related stems with ``/``: ``5A11/BD54&XK8G`` and the two codes ``5A11``,
    ``BD54&XK8G`` say the same, and earn the same."""
    if isinstance(answer, str):
        answer = split_codes(answer)
    entries = [] if answer is None else list(answer)
    verdicts: list[Verdict] = []
    got: list[tuple[str, list[str], str]] = []  # (stem, extensions, the cluster it came in), in order
    seen: set[str] = set()
    for entry in entries:
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
        got += [(stem, exts, code) for stem, exts in groups(code)]

    required = [item for item in key if not item[1]]
    possible = sum(len(parts(item[0])[0]) + len(parts(item[0])[1]) for item in required) + 1.0
    unused = list(range(len(got)))
    earned = 0.0

    def take(stem: str) -> tuple[int | None, float]:
        exact = next((i for i in unused if got[i][0] == stem), None)
        if exact is not None:
            return exact, 1.0
        near = next((i for i in unused if _category(got[i][0]) == _category(stem)), None)
        return near, (0.5 if near is not None else 0.0)

    # optional clusters first claim their own stems (an external cause joined with / to an injury)
    for item in key:
        cluster, optional, why, guide = item[0], item[1], item[2], item[3]
        if not optional:
            continue
        hits = []
        for stem, _ in groups(cluster):
            i = next((i for i in unused if got[i][0] == stem), None)
            if i is not None:
                unused.remove(i)
                hits.append(got[i][2])
        if hits:
            verdicts.append(Verdict(OPTIONAL, hits[0], cluster, 0, 0, f"{cluster}: optional, confirmed", why, guide))
        else:
            verdicts.append(Verdict(OPTIONAL, None, cluster, 0, 0, f"{cluster} would also have been correct",
                                    why, guide))
    first_stem = groups(required[0][0])[0][0] if required else None
    for item in required:
        cluster, why, guide = item[0], item[2], item[3]
        accepted = set(item[4]) if len(item) > 4 else set()
        credit, weight, missing, wrong, shown = 0.0, 0, [], [], []
        for stem, extensions in groups(cluster):
            weight += 1 + len(extensions)
            i, stem_credit = take(stem)
            if i is None:
                missing.append(stem + "".join("&" + x for x in extensions))
                continue
            unused.remove(i)
            g_stem, g_exts, g_cluster = got[i]
            shown.append(g_cluster)
            credit += stem_credit
            if stem_credit < 1:
                wrong.append(f"{g_stem} (the key has {stem})")
            credit += sum(1.0 for x in extensions if x in g_exts)
            missing += [x for x in extensions if x not in g_exts]
            extra = [x for x in g_exts if x not in extensions and x not in accepted]
            wrong += extra
            credit -= EXTRA_PENALTY * len(extra)
        earned += credit
        answer_shown = " + ".join(dict.fromkeys(shown)) or None
        if not shown:
            verdicts.append(Verdict(MISSING, None, cluster, 0, weight, f"missing {cluster}", why, guide))
        elif not missing and not wrong:
            also = sorted({x for i_stem, exts, c in got if c in shown for x in exts if x in accepted})
            said = f"{answer_shown} matches the key" + (
                f" (with {', '.join(also)}, which the note supports)" if also else "")
            verdicts.append(Verdict(CORRECT, answer_shown, cluster, credit, weight, said, why, guide))
        else:
            said = []
            if missing:
                said.append("missing " + ", ".join(missing))
            if wrong:
                said.append("not supported: " + ", ".join(wrong))
            verdicts.append(Verdict(PARTIAL, answer_shown, cluster, credit, weight,
                                    f"{answer_shown}: part right ({'; '.join(said)}); the key has {cluster}", why, guide))
    if required:  # the sequencing point: the key's first stem leads the answer
        if got and got[0][0] == first_stem:
            earned += 1.0
        else:
            verdicts.append(Verdict(MISPLACED, got[0][2] if got else None, required[0][0], 0, 1,
                                    f"{required[0][0]} is the {first_listed_label}: list it first",
                                    required[0][2], required[0][3]))
    extras = list(dict.fromkeys(got[i][2] for i in unused))
    for cluster in extras:
        stems = [got[i][0] for i in unused if got[i][2] == cluster]
        earned -= EXTRA_PENALTY * len(stems)
        verdicts.append(Verdict(EXTRA, cluster, None, -EXTRA_PENALTY * len(stems), 0,
                                f"{' and '.join(stems)} in {cluster}: not supported by the note"))
    return Score(max(0.0, earned), possible, verdicts, first_listed_label)


def key_of(case) -> list[tuple[str, bool, str, str]]:
    """An encounter's ICD-11 key: the ``icd11`` of each key code that has one, in order. Two
    ICD-10-CM codes may map to one ICD-11 cluster (Z79.4 and Z79.84 both to QC48.Y): it is
    reported once, required if either code is."""
    key: dict[str, list] = {}
    for k in case.diagnoses:
        if not k.icd11:
            continue
        optional = bool(k.optional or k.icd11_optional)
        if k.icd11 in key:
            key[k.icd11][1] = key[k.icd11][1] and optional
            key[k.icd11][2] += " " + (k.rationale or "")
            key[k.icd11][4] = tuple(sorted(set(key[k.icd11][4]) | set(k.icd11_also)))
        else:
            key[k.icd11] = [k.icd11, optional, k.rationale or "", k.guideline or "", tuple(k.icd11_also)]
    return [tuple(v) for v in key.values()]
