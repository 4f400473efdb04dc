"""ipywidgets over the core library: search the code set, code an encounter.

No coding logic lives here: search, check, lookup, scoring and saving are library calls, so
what a widget shows is exactly what the grader and the CLI compute.

    from medcodelab.widgets import CodeSearch, EncounterCoder
    CodeSearch()                      # type words, pick a result, read its notes
    EncounterCoder("pc-001")          # read the note, build the code list, Check, Save
    AnswerPad(["enc_01", "enc_02"], answers_file="ps01-icd10cm.answers.json")   # assignments
    ClaimWorkbench("ortho-knee-oa-injection-v06")   # claim form, scrub, submit, remittance, fix, X12
    PracticeSet("sepsis")            # six encounters on a topic, one pad at a time
    Recall("r-1", "What does Excludes1 mean?", "...", topic="conventions")   # reveal, then record
"""

from .coder import AnswerPad, CodeList, EncounterCoder
from .practice import PracticeSet
from .recall import Recall
from .search import CodeSearch
from .workbench import ClaimWorkbench

__all__ = ["AnswerPad", "ClaimWorkbench", "CodeList", "CodeSearch", "EncounterCoder", "PracticeSet", "Recall"]
