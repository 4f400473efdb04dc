"""Revenue-cycle data: a seeded claims history decided by the lab's payer rules, and its KPIs."""

from .generate import SCALES, GenerateError, generate, practice_dataset
from .kpi import kpis

__all__ = ["SCALES", "GenerateError", "generate", "kpis", "practice_dataset"]
