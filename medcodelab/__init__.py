"""Medical Coding & RCM Lab.

One import gives a notebook everything it needs::

    import medcodelab as mcl
    mcl.welcome()
    mcl.check("e1165")
    mcl.search("T2DM with hyperglycemia")
    mcl.lookup("E11.65")

The widgets live in ``medcodelab.widgets`` and are imported only by notebooks that show them.
"""

from __future__ import annotations

from . import clinical, progress
from .api import case, cases, chapters, practice_set, score, sources, welcome
from .codes import check, lookup, modifier_fits, search, systems
from .scoring.diagnoses import Score, score_diagnoses

__version__ = "0.1.0"

__all__ = ["case", "cases", "chapters", "check", "clinical", "lookup", "modifier_fits", "practice_set", "progress", "score", "score_diagnoses", "search", "sources", "systems",
           "welcome", "Score", "__version__"]
