"""Write an nbgrader source notebook from an assignment spec and the case bank.

The notebook is generated, never edited by hand, so the notes students read and the keys the
grader uses come from the same case files and cannot drift apart. ``make test`` regenerates
each notebook and fails if the committed copy differs.

A spec (``autograder/assignments/<id>.yaml``) names the encounters in order::

    id: ps01-icd10cm
    title: "Problem set 1: ICD-10-CM foundations"
    intro: |
      ...
    encounters: [as-001, as-002, ...]
    pool: [as-001, ..., as-014]   # optional: encounters a course's secret seed may draw from
    draw: 8

An entry ``template:<template id>`` stands for a variant of a template in the assessment folder
(``templates/``). Without a seed it is the template's first variant; with a course seed the
template is expanded with a secret derived from the seed and one variant is picked by it, so
each course grades its own note and key. The derived secret (not the course seed) is written
into the hidden test so the grader can rebuild the same variant.

With a course seed (``--seed`` or ``MEDCODELAB_COURSE_SEED``), the encounters are drawn from
the pool by the seed, so each course gets its own set and the answers of another course (or of
this public repository's default set) do not fit it. The draw is deterministic: the same seed
always gives the same set, which the instructor keeps private. A seeded notebook is written to
the instructor's own course folder (``--out``), never over the repository's default one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pprint
from pathlib import Path

import nbformat
import yaml
from nbformat import v4

from medcodelab import paths
from medcodelab.cases.model import Encounter
from medcodelab.scoring.diagnoses import FIRST_LISTED_WEIGHT

from . import keys, tasks

SPECS = Path(__file__).resolve().parent / "assignments"
SOURCE = paths.PROJECT_ROOT / "assignments" / "source"


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def points_for(case: Encounter, system: str = "icd10cm") -> float:
    """The rubric's possible points for one encounter (first-listed weighted, optional codes free);
    in ICD-11, one point per part of each required cluster and one for sequencing."""
    if system == "icd11":
        from medcodelab.scoring.icd11 import key_of, parts

        return 1.0 + sum(len(a) + len(b) for cluster, optional, *_ in key_of(case) if not optional
                         for a, b in [parts(cluster)])
    return FIRST_LISTED_WEIGHT + sum(1 for k in case.diagnoses[1:] if not k.optional)


def _key_codes(case: Encounter, system: str) -> list[str]:
    if system == "icd11":
        from medcodelab.scoring.icd11 import key_of

        return [cluster for cluster, optional, *_ in key_of(case) if not optional]
    return [k.code for k in case.diagnoses if not k.optional]


def _note_markdown(n: int, case: Encounter, system: str = "icd10cm") -> str:
    header = case.header().replace("\n", "  \n")
    what = "ICD-11 codes (stem codes, with extensions after & and related stems after /)" if system == "icd11" \
        else "ICD-10-CM codes"
    return (f"## Encounter {n}\n\n{header}\n\n```text\n{case.note.rstrip()}\n```\n\n"
            f"List the {what} this note supports, the {case.first_listed_label} first.")


def _finish(cells: list, total: float) -> nbformat.NotebookNode:
    cells.append(v4.new_markdown_cell(
        f"---\nThis problem set is worth {total:g} points. Before you submit: *Kernel → Restart and run all*, "
        "and make sure every answer cell runs.", metadata=_meta("outro", locked=True)))
    for n, cell in enumerate(cells):  # stable ids, so regenerating changes nothing
        cell["id"] = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell-{n:02d}").replace("_", "-")
    nb = v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.strip("\n").splitlines())


def build_task_notebook(spec: dict) -> nbformat.NotebookNode:
    """A problem set of tasks (fix a claim, answer in SQL): each task's material, an answer cell
    whose solution region holds the key, and a test cell whose hidden region names the task."""
    cells = [
        v4.new_markdown_cell(f"# {spec['title']}\n\n{spec['intro'].rstrip()}", metadata=_meta("intro", locked=True)),
        v4.new_code_cell(spec["setup"].rstrip(), metadata=_meta("setup", locked=True)),
    ]
    total = 0.0
    for n, task_id in enumerate(spec["tasks"], start=1):
        task = tasks.load(task_id)
        total += task.points
        marker = f"# medcodelab-key: answer={{}} task={task.task_id} sha256={tasks.digest(task.task_id)}"
        if task.kind == "claim":
            variable, claim = f"fix_{n:02d}", f"claim_{n:02d}"
            lines = ",\n".join(_indent(pprint.pformat(line, sort_dicts=False, width=100), "        ")
                               for line in task.data["fix"]["lines"])
            body = f'    "edits": {list(task.data["edits"])!r},\n'
            if "diagnoses" in task.data["fix"]:
                body += f'    "diagnoses": {list(task.data["fix"]["diagnoses"])!r},\n'
            body += f'    "lines": [\n{lines},\n    ],\n'
            cells += [
                v4.new_markdown_cell(f"## Claim {n}: {task.title} ({task.points:g} points)\n\n"
                                     f"**What the record documents.** {task.data['story'].strip()}",
                                     metadata=_meta(f"story_{variable}", locked=True)),
                v4.new_code_cell(f"{claim} = {pprint.pformat(task.data['claim'], sort_dicts=False, width=100)}\n"
                                 f"show_claim({claim})", metadata=_meta(f"given_{claim}", locked=True)),
                v4.new_code_cell(f"{variable} = {{\n    ### BEGIN SOLUTION\n{body}    ### END SOLUTION\n}}",
                                 metadata=_meta(f"answer_{variable}", solution=True)),
            ]
            check = f'check_fix("{variable}", {claim})'
        else:
            variable = f"q{n:02d}"
            cells += [
                v4.new_markdown_cell(f"## Question {n}: {task.title} ({task.points:g} points)\n\n"
                                     f"{task.data['prompt'].strip()}", metadata=_meta(f"prompt_{variable}", locked=True)),
                v4.new_code_cell(f'{variable} = (\n    ### BEGIN SOLUTION\n    """\n'
                                 f'{_indent(task.data["key_sql"], "    ")}\n    """\n    ### END SOLUTION\n)',
                                 metadata=_meta(f"answer_{variable}", solution=True)),
            ]
            check = f'check_sql("{variable}")'
        cells.append(v4.new_code_cell(
            f"{check}\n### BEGIN HIDDEN TESTS\n{marker.format(variable)}\n### END HIDDEN TESTS",
            metadata=_meta(f"test_{variable}", grade=True, locked=True, points=task.points)))
    return _finish(cells, total)


def build_notebook(spec: dict) -> nbformat.NotebookNode:
    if "tasks" in spec:
        return build_task_notebook(spec)
    assignment = spec["id"]
    answers_file = f"{assignment}.answers.json"
    cells = [
        v4.new_markdown_cell(f"# {spec['title']}\n\n{spec['intro'].rstrip()}", metadata=_meta("intro", locked=True)),
        v4.new_code_cell(
            "import medcodelab as mcl\n"
            "from medcodelab.assignment import check_answer, saved, use_answers_file"
            + (", show_note" if spec.get("_students") else "") + "\n\n"
            f'use_answers_file("{answers_file}")\n'
            "mcl.welcome()",
            metadata=_meta("setup", locked=True),
        ),
        v4.new_markdown_cell(
            "### Your tools\n\nSearch and check codes in any cell you add, e.g. `mcl.search(\"strep throat\")`, "
            "`mcl.check(\"J02.0\")`, `mcl.lookup(\"J02.0\")` (its notes: Excludes1, code first, 7th characters). "
            "The answer pad below has a search panel too: pick a question, add codes in order, press **Save**, "
            "then load them in the answer cell with `saved(\"enc_01\")`. Only the answer cells are graded.",
            metadata=_meta("tools", locked=True),
        ),
    ]
    system = spec.get("system", "icd10cm")
    chosen = [resolve(entry, spec.get("_seed")) for entry in spec["encounters"]]
    questions = {f"enc_{n:02d}": keys.load(case_id, None, variant).date_of_service.isoformat()
                 for n, (case_id, variant) in enumerate(chosen, start=1)}
    cells.append(v4.new_code_cell(
        "from medcodelab.widgets import AnswerPad\n\n"
        f"AnswerPad({list(questions)!r},\n          answers_file=\"{answers_file}\",\n"
        f"          dates_of_service={questions!r}" + (",\n          system=\"icd11\")" if system == "icd11" else ")"),
        # the instructor's tool, locked like the set-up; grading never needs to run it
        metadata={**_meta("tool_answer_pad", locked=True), "tags": ["skip-execution"]},
    ))
    total = 0.0
    students = spec.get("_students") or []
    for n, (case_id, variant) in enumerate(chosen, start=1):
        case = keys.load(case_id, None, variant)
        per_student = bool(students and variant)
        marker_variant = (f" variant={variant}" if variant else "") + (" per=student" if per_student else "") \
            + (" system=icd11" if system == "icd11" else "")
        question = f"enc_{n:02d}"
        points = points_for(case, system)
        total += points
        codes = ", ".join(f'"{code}"' for code in _key_codes(case, system))
        if per_student:  # each student reads their own note, from the notes file released beside it
            note = [v4.new_markdown_cell(
                        f"## Encounter {n}\n\nEach student codes their own version of this encounter: the cell "
                        "below shows yours. List the ICD-10-CM codes it supports, first-listed first.",
                        metadata=_meta(f"note_{question}", locked=True)),
                    v4.new_code_cell(f'show_note("{question}", "{spec["id"]}.notes.json")',
                                     metadata=_meta(f"show_{question}", locked=True))]
        else:
            note = [v4.new_markdown_cell(_note_markdown(n, case, system), metadata=_meta(f"note_{question}", locked=True))]
        cells += note + [
            v4.new_code_cell(
                f"{question} = [\n    ### BEGIN SOLUTION\n    {codes},\n    ### END SOLUTION\n]",
                metadata=_meta(f"answer_{question}", solution=True),
            ),
            v4.new_code_cell(
                f"check_answer(\"{question}\", date_of_service=\"{case.date_of_service.isoformat()}\""
                + (", system=\"icd11\")\n" if system == "icd11" else ")\n")
                + "### BEGIN HIDDEN TESTS\n"
                f"# medcodelab-key: answer={question} case={case.case_id} sha256={keys.digest(case.case_id)}"
                f"{marker_variant}\n"
                "### END HIDDEN TESTS",
                metadata=_meta(f"test_{question}", grade=True, locked=True, points=points),
            ),
        ]
    return _finish(cells, total)


TEMPLATE_PREFIX = "template:"


def _hmac(seed: str, text: str) -> str:
    return hmac.new(seed.encode(), text.encode(), hashlib.sha256).hexdigest()


def resolve(entry: str, seed: str | None = None) -> tuple[str, str | None]:
    """(case id, variant secret) for a spec entry: a case id, or ``template:<id>``."""
    if not entry.startswith(TEMPLATE_PREFIX):
        return entry, None
    from medcodelab.cases import template

    template_id = entry[len(TEMPLATE_PREFIX):]
    folder = paths.assessment_cases_dir()
    found = template.find(folder, template_id) or template.find(paths.practice_cases_dir(), template_id)
    if found is None:
        raise keys.KeyError_(f"no template {template_id!r} under {folder}/templates")
    if not seed:
        return f"{template_id}-v01", None
    variant = _hmac(seed, f"variant:{template_id}")[:16]
    use = "assessment" if folder in found.parents else "practice"
    variants = template.load_file(found, use, variant)
    pick = int(_hmac(seed, f"pick:{template_id}"), 16) % len(variants)
    return variants[pick].case_id, variant


def draw(spec: dict, seed: str) -> list[str]:
    """The encounters a course seed draws from the spec's pool, in order of difficulty."""
    pool = spec.get("pool") or spec["encounters"]
    count = int(spec.get("draw", len(spec["encounters"])))
    if count > len(pool):
        raise ValueError(f"{spec['id']}: cannot draw {count} encounters from a pool of {len(pool)}")
    ranked = sorted(pool, key=lambda case_id: hmac.new(seed.encode(), f"{spec['id']}:{case_id}".encode(),
                                                       hashlib.sha256).hexdigest())
    chosen = ranked[:count]
    def difficulty(entry: str) -> tuple:
        case_id, variant = resolve(entry, seed)
        return keys.load(case_id, None, variant).difficulty, entry

    return sorted(chosen, key=difficulty)


def load_spec(assignment: str) -> dict:
    path = SPECS / f"{assignment}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no assignment spec {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def student_key(assignment: str, student: str) -> str:
    """How the notes file names a student: a digest, so the file does not list the class roster."""
    return hashlib.sha256(f"{assignment}:{student}".encode()).hexdigest()[:20]


def notes_bundle(spec: dict) -> dict:
    """Every student's own note for each per-student question: what ``show_note`` displays. It
    holds notes only; the keys stay with the instructor, and the grader rebuilds each student's
    variant from the hidden test and the submission's owner."""
    questions: dict[str, dict] = {}
    for n, entry in enumerate(spec["encounters"], start=1):
        case_id, variant = resolve(entry, spec.get("_seed"))
        if not variant:
            continue
        mine = questions.setdefault(f"enc_{n:02d}", {})
        for student in spec["_students"]:
            case = keys.load(case_id, None, variant, student)
            mine[student_key(spec["id"], student)] = {
                "header": case.header(), "note": case.note.rstrip(), "date_of_service": case.date_of_service.isoformat(),
                "first_listed_label": case.first_listed_label}
    return {"assignment": spec["id"], "questions": questions}


def _spec_for(assignment: str, seed: str | None, students: list[str] | None) -> dict:
    spec = load_spec(assignment)
    if seed and "tasks" in spec:
        raise ValueError(f"{assignment} is a set of fixed tasks with no per-course variants; generate it without --seed")
    if students and not seed:
        raise ValueError("per-student variants need the course's secret seed (--seed or MEDCODELAB_COURSE_SEED)")
    if seed and not spec.get("pool") and not any(e.startswith(TEMPLATE_PREFIX) for e in spec["encounters"]):
        raise ValueError(f"{assignment} has no pool and no template: entries, so a course seed would only reorder "
                         "the same public encounters; add a pool of private cases (or templates) to its spec first")
    if seed:
        spec = {**spec, "encounters": draw(spec, seed), "_seed": seed}
    if students:
        if not any(entry.startswith(TEMPLATE_PREFIX) for entry in spec["encounters"]):
            raise ValueError(f"{assignment} has no template: entries, so there is nothing to vary per student")
        spec = {**spec, "_students": list(dict.fromkeys(students))}
    return spec


def render(assignment: str, seed: str | None = None, students: list[str] | None = None) -> str:
    return nbformat.writes(build_notebook(_spec_for(assignment, seed, students))) + "\n"


def write(assignment: str, root: Path = SOURCE, seed: str | None = None, students: list[str] | None = None) -> Path:
    """Write the source notebook (and, for per-student variants, the notes file beside it, which
    nbgrader releases with the notebook)."""
    if seed and Path(root).resolve() == SOURCE.resolve():
        raise ValueError("a seeded problem set goes to your own course folder: give --out (e.g. "
                         "/srv/course/source), so the repository's default notebook stays as it is")
    spec = _spec_for(assignment, seed, students)
    target = Path(root) / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(build_notebook(spec)) + "\n", encoding="utf-8")
    if students:
        bundle = target.parent / f"{assignment}.notes.json"
        bundle.write_text(json.dumps(notes_bundle(spec), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def read_roster(text: str) -> list[str]:
    """Student ids from a roster: one per line (or comma-separated); blank lines and # comments skipped."""
    ids = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        ids += [part.strip() for part in line.split(",") if part.strip()]
    return ids


def specs() -> list[str]:
    return sorted(p.stem for p in SPECS.glob("*.yaml"))
