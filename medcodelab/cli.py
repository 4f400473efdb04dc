"""``medcodelab``: the lab's tasks as verbs, each a thin layer over a library call.

    medcodelab build-data [--force]       build the DuckDB file (skips when up to date)
    medcodelab check TEXT [--json]        is it a billable code?   exit 0 billable, 1 not
    medcodelab search QUERY [--limit N] [--json]
    medcodelab lookup CODE [--json]       description, parents and every note that applies
    medcodelab validate-cases             prove every answer key (practice and assessment)
    medcodelab cases                      list the practice encounters
    medcodelab sources [--json]           where every table comes from, with its licence
    medcodelab import-cpt FILE            use this site's licensed CPT descriptors (never committed)
    medcodelab import-mue FILE            use the official CMS practitioner MUE table (every code)
    medcodelab import-ncci FILE...        use the official CMS practitioner PTP edits (codes the lab holds)
    medcodelab claim CASE_ID              the claim (JSON) a biller builds from a keyed encounter
    medcodelab scrub CLAIM.json [--json]  every edit: rule, severity, line, message, fix (exit 1 on errors)
    medcodelab adjudicate CLAIM.json [--payer ID] [--json]   the payer's remittance
    medcodelab x12 837p CLAIM.json | x12 835 CLAIM.json | x12 read-835 FILE

``check``, ``search`` and ``lookup`` take ``--system`` (icd10cm, icd11, cpt, hcpcs, modifier).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import db, paths

SYSTEM_CHOICES = ["icd10cm", "icd11", "cpt", "hcpcs", "modifier"]


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_build(args: argparse.Namespace) -> int:
    from .build import database
    from .cases.store import InvalidKeys

    try:
        database.build(args.db, force=args.force)
    except (InvalidKeys, database.BuildError) as exc:
        print(f"build stopped: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from .api import sources

    frame = sources()
    if args.json:
        _print_json(frame.to_dict(orient="records"))
        return 0
    for source_id, group in frame.groupby("source_id", sort=False):
        first = group.iloc[0]
        print(f"{source_id}  [{first['system']}]  {first['source']}")
        print(f"    version {first['version']}; licence: {first['license']}")
        for row in group.itertuples():
            if row.table:
                print(f"    {row.table}: {row.rows:,} rows")
    return 0


def cmd_import_cpt(args: argparse.Namespace) -> int:
    from .build import licensed

    try:
        summary = licensed.import_cpt(Path(args.file))
    except licensed.ImportProblem as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 1
    print(summary)
    if args.no_build:
        print("run `make data` (or `medcodelab build-data`) to use them")
        return 0
    return cmd_build(argparse.Namespace(db=None, force=False))


def _import_cms(args: argparse.Namespace, files: list[str], do_import, do_remove, target: Path, verb: str,
                wanted: str, lab: str) -> int:
    """import-mue and import-ncci: import (or --remove), rebuild, and undo an import the build refuses."""
    from .build import licensed

    if args.remove and files:
        print("give the file(s) to import, or --remove, not both", file=sys.stderr)
        return 2
    if args.remove:
        print(do_remove())
    elif not files:
        print(f"{verb} needs {wanted} (or --remove to go back to the lab's {lab})", file=sys.stderr)
        return 2
    else:
        try:
            print(do_import(files))
        except licensed.ImportProblem as exc:
            print(f"nothing imported: {exc}", file=sys.stderr)
            return 1
    if args.no_build:
        print("run `make data` (or `medcodelab build-data`) to use it")
        return 0
    code = cmd_build(argparse.Namespace(db=None, force=False))
    if code and not args.remove:
        undone = licensed.restore_previous(target)
        print(f"the import was not taken up: {undone}, and the database is as it was. Fix the answer keys "
              f"the build names, then import again; `medcodelab {verb} --remove` goes back to the lab's {lab}",
              file=sys.stderr)
    return code


def cmd_import_mue(args: argparse.Namespace) -> int:
    from .build import mue_import, reference

    return _import_cms(args, [args.file] if args.file else [],
                       lambda files: mue_import.import_mue(Path(files[0]), args.effective), mue_import.remove,
                       reference.licensed_folder() / mue_import.LICENSED_MUE, "import-mue", "the CMS file", "rows")


def cmd_import_ncci(args: argparse.Namespace) -> int:
    from .build import ptp_import, reference

    return _import_cms(args, args.files, lambda files: ptp_import.import_ptp([Path(f) for f in files]),
                       ptp_import.remove, reference.licensed_folder() / ptp_import.LICENSED_PTP, "import-ncci",
                       "the CMS PTP files", "pairs")


def cmd_check(args: argparse.Namespace) -> int:
    from .codes import check, modifier_fits

    if args.on_code:
        if args.system != "modifier":
            print("--on-code asks whether a modifier may attach to a code: use it with --system modifier",
                  file=sys.stderr)
            return 2
        fits = modifier_fits(args.text, args.on_code, on=args.date)
        if args.json:
            _print_json(fits)
        else:
            verdict = {True: "fits", False: "misfit", None: "invalid"}[fits["fits"]]
            print(f"{verdict:9} {fits['modifier'] or args.text} on {fits['code'] or args.on_code}")
            print(f"          {fits['message']}")
        return 0 if fits["fits"] else 1
    result = check(args.text, system=args.system, date_of_service=args.date)
    if args.json:
        _print_json(result)
    else:
        print(f"{result['status']:9} {result['code'] or args.text}  {result['description'] or ''}".rstrip())
        if result["message"] and result["status"] != "billable":
            print(f"          {result['message']}")
    return 0 if result["status"] == "billable" else 1


def cmd_search(args: argparse.Namespace) -> int:
    from .codes import search

    results = search(args.query, system=args.system, limit=args.limit)
    if args.json:
        _print_json(results)
    else:
        if not results:
            print("no codes match; try fewer or other words, or an abbreviation such as CHF")
        for row in results:
            print(f"{row['code']:9} {'' if row['billable'] else '(heading) '}{row['description']}")
    return 0


def cmd_lookup(args: argparse.Namespace) -> int:
    from .codes import check, lookup

    detail = lookup(args.code, system=args.system)
    if detail is None:
        result = check(args.code, system=args.system)
        if args.json:
            _print_json(None)
        print(result["message"], file=sys.stderr)
        return 1
    if args.json:
        _print_json(detail.as_dict())
    else:
        print(detail.as_text())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .cases import store
    from .codes import icd10cm

    from pathlib import Path

    from .cases import model

    if args.files:
        from .cases import template

        chosen = []
        try:
            for name in args.files:
                path = Path(name)
                if model.TEMPLATES_DIR in path.parts[:-1]:
                    variants = template.load_file(path)
                    print(f"{path}: template {variants[0].template}, {len(variants)} variant(s)")
                    chosen += variants
                else:
                    chosen.append(model.load_file(path))
        except (model.CaseError, OSError) as exc:
            print(exc)
            return 1
        practice = [c for c in chosen if c.use == "practice"]
        assessment = [c for c in chosen if c.use == "assessment"]
    else:
        from . import paths

        folder = paths.assessment_cases_dir()
        if "MEDCODELAB_ASSESSMENT_CASES" in os.environ and not any(folder.glob("*.yaml")):
            print(f"MEDCODELAB_ASSESSMENT_CASES points at {folder}, which holds no case files")
            return 1
        try:
            practice, assessment = store.load_all()
        except model.CaseError as exc:
            print(exc)
            return 1
        print(f"practice cases: {paths.practice_cases_dir()}\nassessment cases: {folder}")
    problems = store.validate_all(practice + assessment, icd10cm())
    for problem in problems:
        print(problem)
    print(f"{len(practice)} practice and {len(assessment)} assessment encounters checked: "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_cases(args: argparse.Namespace) -> int:
    filtered = bool(args.topic or args.specialty or args.difficulty or args.list)
    if args.summary or (args.json and not filtered):
        from .cases import model, store

        try:
            summary = store.summary(*store.load_all())
        except model.CaseError as exc:
            print(exc, file=sys.stderr)
            return 1
        if args.json:
            _print_json(summary)
            return 0
        print(f"{summary['templates']} templates giving {summary['variants']} variants; "
              f"{summary['hand_written']} hand-written cases ({summary['hand_written_assessment']} of them "
              f"assessment, with hidden keys); {summary['practice']} practice and "
              f"{summary['assessment']} assessment encounters in all")
        for title, key in (("by specialty", "by_specialty"), ("by setting", "by_setting")):
            print(f"{title}:")
            for name, counts in summary[key].items():
                print(f"  {name:22} {counts['templates']:4} templates {counts['encounters']:6} encounters")
        return 0
    from .api import cases

    frame = cases(args.topic, specialty=args.specialty, difficulty=args.difficulty)
    if args.json:
        _print_json(frame.to_dict(orient="records"))
        return 0
    if not len(frame):
        print("no practice cases" + (f" tagged {args.topic!r}" if args.topic else ""))
    for row in frame.itertuples():
        print(f"{row.case_id:8} {row.setting:20} level {row.difficulty}  {row.title}")
    return 0


def cmd_generate_rcm(args: argparse.Namespace) -> int:
    from . import rcm

    out = Path(args.out) if args.out else paths.build_dir() / f"rcm-{args.scale}.duckdb"
    say = (lambda message: None) if args.json else (lambda message: print(message, file=sys.stderr))
    try:
        summary = rcm.generate(out, args.scale, args.seed, progress=say)
    except rcm.GenerateError as exc:
        print(f"generate-rcm: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"generate-rcm: cannot write {out}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(summary)
        return 0
    tables = summary["tables"]
    print(f"wrote {summary['out']} in {summary['seconds']} s: {tables['claims']:,} claims, "
          f"{tables['claim_lines']:,} lines, {tables['denials']:,} denied lines, {tables['appeals']:,} appeals "
          f"(as of {summary['as_of']})")
    return 0


def _read_claim(name: str):
    from .claims import ClaimError, from_dict, load

    if name == "-":
        try:
            return from_dict(json.loads(sys.stdin.read()))
        except json.JSONDecodeError as exc:
            raise ClaimError([f"standard input: not valid JSON ({exc})"]) from None
    return load(name)


def _claim_verb(run):
    """Run a claim command; a malformed claim is a clear message and exit status 2."""
    def wrapped(args: argparse.Namespace) -> int:
        from .claims import ClaimError
        from .claims.x12 import X12Error

        try:
            return run(args)
        except ClaimError as exc:
            print(exc, file=sys.stderr)
            return 2
        except X12Error as exc:
            print(f"x12: {exc}", file=sys.stderr)
            return 2
    return wrapped


def _date_arg(text: str | None):
    import datetime as dt

    return dt.date.fromisoformat(text) if text else None


@_claim_verb
def cmd_claim(args: argparse.Namespace) -> int:
    from .api import case
    from .claims import from_encounter

    try:
        encounter = case(args.case_id)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    claim = from_encounter(encounter, payer=args.payer, submitted=_date_arg(args.submitted))
    print(claim.to_json())
    return 0


@_claim_verb
def cmd_scrub(args: argparse.Namespace) -> int:
    from .claims import scrub

    claim = _read_claim(args.claim)
    edits = scrub(claim, db.cursor(), today=_date_arg(args.today))
    if args.json:
        _print_json([e.as_dict() for e in edits])
    elif not edits:
        print(f"{claim.claim_id}: clean (no edits)")
    else:
        for e in edits:
            where = f"line {e.line}" if e.line else "claim"
            print(f"{e.severity.upper():7} {where:8} [{e.rule}] {e.message}\n{'':17}fix: {e.fix}")
    return 1 if any(e.severity == "error" for e in edits) else 0


@_claim_verb
def cmd_adjudicate(args: argparse.Namespace) -> int:
    from decimal import Decimal

    from .claims import adjudicate

    claim = _read_claim(args.claim)
    if args.payer:
        claim.payer = args.payer
    remaining = int(Decimal(args.deductible_remaining) * 100) if args.deductible_remaining is not None else None
    remit = adjudicate(claim, db.cursor(), remaining, today=_date_arg(args.today))
    if args.json:
        _print_json(remit.as_dict())
        return 0
    print(f"{remit.claim_id} · {remit.payer_name} · {remit.status}")
    for e in remit.rejected:
        print(f"  rejected: [{e.rule}] {e.message}\n            fix: {e.fix}")
    if remit.status != "rejected":
        for line in remit.lines:
            adjs = ", ".join(f"{a.group}-{a.carc} {a.amount_cents / 100:.2f}".lstrip("-") for a in line.adjustments)
            rarc = f" [{', '.join(line.rarc)}]" if line.rarc else ""
            print(f"  {line.line}. {line.code:6}{('-' + '-'.join(line.modifiers)) if line.modifiers else '':9} "
                  f"billed {line.charge_cents / 100:9.2f} allowed {line.allowed_cents / 100:9.2f} "
                  f"paid {line.paid_cents / 100:9.2f} patient {line.patient_cents / 100:8.2f}  {adjs}{rarc}")
            if line.decision != "paid":
                print(f"     {line.decision}: {line.explanation}")
        print(f"  total paid {remit.paid_cents / 100:.2f}; patient owes {remit.patient_cents / 100:.2f}")
    return 0


@_claim_verb
def cmd_x12(args: argparse.Namespace) -> int:
    from .claims import adjudicate
    from .claims import x12

    if args.kind == "read-835":
        path = Path(args.file)
        try:
            text = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"x12: cannot read {args.file}: {exc}", file=sys.stderr)
            return 2
        meanings = dict(db.cursor().execute("SELECT code, meaning FROM carc").fetchall())
        remits = x12.remittance_from_835(text, meanings)
        if args.json:
            _print_json([r.as_dict() for r in remits])
        else:
            for r in remits:
                print(f"{r.claim_id} from {r.payer_name or '?'} ({r.payer or '?'}): {r.status}, "
                      f"paid {r.paid_cents / 100:.2f}, patient {r.patient_cents / 100:.2f}")
                for line in r.lines:
                    for adj in line.adjustments:
                        print(f"  line {line.line} {line.code}: {adj.group}-{adj.carc} {adj.amount_cents / 100:.2f}"
                              f"  {adj.reason}".rstrip())
        return 0
    claim = _read_claim(args.file)
    if args.kind == "837p":
        sys.stdout.write(x12.to_837p(claim))
        return 0
    remit = adjudicate(claim, db.cursor())
    sys.stdout.write(x12.to_835(remit, claim))
    return 0


def cmd_offline_lab(args: argparse.Namespace) -> int:
    """JupyterLab settings for a lab that works offline: no news feed prompt, no update check."""
    folder = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "overrides.json"
    settings = json.loads(target.read_text()) if target.exists() else {}
    settings.setdefault("@jupyterlab/apputils-extension:notification", {}).update(
        {"fetchNews": "false", "checkForUpdates": False})
    target.write_text(json.dumps(settings, indent=2))
    print(f"wrote {target}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="medcodelab", description="Medical Coding & RCM Lab")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("build-data", help="build the lab's DuckDB file")
    p.add_argument("--force", action="store_true", help="rebuild even when inputs are unchanged")
    p.add_argument("--db", help="where to write the file (default data/build/medcodelab.duckdb)")
    p.set_defaults(run=cmd_build)

    p = verbs.add_parser("check", help="is TEXT a billable code?")
    p.add_argument("text")
    p.add_argument("--system", default="icd10cm", choices=SYSTEM_CHOICES)
    p.add_argument("--date", help="date of service, YYYY-MM-DD")
    p.add_argument("--on-code", metavar="CODE",
                   help="with --system modifier: may the modifier attach to this CPT or HCPCS code?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_check)

    p = verbs.add_parser("search", help="find codes by words, in any order")
    p.add_argument("query")
    p.add_argument("--system", default="icd10cm", choices=SYSTEM_CHOICES)
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_search)

    p = verbs.add_parser("lookup", help="a code with its parents and notes")
    p.add_argument("code")
    p.add_argument("--system", default="icd10cm", choices=SYSTEM_CHOICES)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_lookup)

    p = verbs.add_parser("sources", help="where every table comes from, with its licence")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_sources)

    p = verbs.add_parser("import-cpt", help="use this site's licensed CPT descriptor file (kept out of git)")
    p.add_argument("file", help="the AMA data file: one code and its descriptor per line (tab, comma or pipe)")
    p.add_argument("--no-build", action="store_true", help="store the file but do not rebuild the database")
    p.set_defaults(run=cmd_import_cpt)

    p = verbs.add_parser("import-mue", help="use the official CMS Practitioner Services MUE table (every code)")
    p.add_argument("file", nargs="?", help="the CMS ZIP or the CSV in it, e.g. MCR_MUE_PractitionerServices_Eff_07-01-2026.csv")
    p.add_argument("--remove", action="store_true", help="drop the imported table and go back to the lab's rows")
    p.add_argument("--effective", metavar="YYYY-MM-DD", help="the date the table took effect (when the name lacks it)")
    p.add_argument("--no-build", action="store_true", help="import only; rebuild later with make data")
    p.set_defaults(run=cmd_import_mue)

    p = verbs.add_parser("import-ncci", help="use the official CMS practitioner PTP edits among the codes the lab holds")
    p.add_argument("files", nargs="*", help="the four parts (ccipra-...-f1.txt to -f4.txt) or their CMS ZIPs")
    p.add_argument("--remove", action="store_true", help="drop the imported edits and go back to the lab's pairs")
    p.add_argument("--no-build", action="store_true", help="import only; rebuild later with make data")
    p.set_defaults(run=cmd_import_ncci)

    p = verbs.add_parser("validate-cases", help="check every answer key against the code set")
    p.add_argument("files", nargs="*", help="only these case files (default: the whole bank)")
    p.set_defaults(run=cmd_validate)

    p = verbs.add_parser("offline-lab", help="JupyterLab settings for offline use (no news, no update checks)")
    p.set_defaults(run=cmd_offline_lab)

    p = verbs.add_parser("generate-rcm", help="write a seeded claims history (claims, remits, denials, AR) to DuckDB")
    p.add_argument("--scale", choices=["small", "default", "large"], default="default",
                   help="small: 3,000 encounters (seconds); default: 50,000; large: 720,000 (over 1M claim lines)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives identical tables (default 0)")
    p.add_argument("--out", help="the DuckDB file to write (default data/build/rcm-SCALE.duckdb)")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of progress")
    p.set_defaults(run=cmd_generate_rcm)

    p = verbs.add_parser("claim", help="the claim (JSON) a biller builds from a keyed practice encounter")
    p.add_argument("case_id")
    p.add_argument("--payer", help="bill this payer id instead (MCR-B, MCR-ADV, MCD, COM-PPO, COM-HMO, ...)")
    p.add_argument("--submitted", help="submission date YYYY-MM-DD (default: two days after the service)")
    p.set_defaults(run=cmd_claim)

    p = verbs.add_parser("scrub", help="every edit on a claim, with the fix (exit 1 when any is an error)")
    p.add_argument("claim", help="a claim JSON file, or - for standard input")
    p.add_argument("--today", help="judge filing limits as of this date (default: the claim's submitted date)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_scrub)

    p = verbs.add_parser("adjudicate", help="what the payer decides and pays, line by line (a remittance)")
    p.add_argument("claim", help="a claim JSON file, or - for standard input")
    p.add_argument("--payer", help="send it to this payer id instead of the claim's")
    p.add_argument("--deductible-remaining", help="the patient's deductible still to meet, e.g. 120.00 "
                                                  "(default: the plan's whole deductible)")
    p.add_argument("--today")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_adjudicate)

    p = verbs.add_parser("x12", help="X12 5010: write a claim's 837P or its 835 remittance; read an 835")
    p.add_argument("kind", choices=["837p", "835", "read-835"])
    p.add_argument("file", help="claim JSON (837p, 835) or an 835 file (read-835); - for standard input")
    p.add_argument("--json", action="store_true", help="read-835: print JSON")
    p.set_defaults(run=cmd_x12)

    p = verbs.add_parser("cases", help="list practice encounters, or count the whole bank (--summary)")
    p.add_argument("--topic", help="only encounters tagged with this topic")
    p.add_argument("--specialty", help="only this specialty (e.g. cardiology)")
    p.add_argument("--difficulty", type=int, choices=[1, 2, 3])
    p.add_argument("--summary", action="store_true",
                   help="count templates, variants and hand-written cases by specialty and setting, "
                        "from the case folders (practice and assessment; no keys are shown)")
    p.add_argument("--list", action="store_true", help="with --json: the practice encounters, not the counts")
    p.add_argument("--json", action="store_true",
                   help="the bank's counts as JSON; with --list or a filter, the encounters instead")
    p.set_defaults(run=cmd_cases)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except db.DataNotBuilt as exc:
        print(exc, file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `medcodelab cases | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
