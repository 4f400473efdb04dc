"""Turn what a learner typed into a canonical code, or say plainly why it is not one.

People type codes every which way: ``e1165``, `` E11.65. ``, ``E11..65``, ``"W19XXXA"``.
Normalising first means the lab judges the code, not the typing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Surrounding characters people paste along with a code.
_STRIP = " \t\r\n\"'`“”‘’.,;:!?()[]{}<>"
_ICD10CM_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
_DECIMAL_COMMA = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z],[0-9A-Za-z]{1,4}$")


@dataclass(frozen=True)
class Normalised:
    """The outcome of normalising one input."""

    input: str
    code: str | None  # canonical dotted form when the shape is right
    compact: str | None  # the same without the dot
    problem: str | None  # why the input is not shaped like a code, for the learner


def as_text(value: object) -> str | None:
    """Accept str (and bytes); anything else is not a code."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None


def as_date(value: str | dt.date | None) -> dt.date | None:
    """A date of service as a date; None stays None. Raises ValueError for text that is not YYYY-MM-DD."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def icd10cm(value: object) -> Normalised:
    """Normalise an ICD-10-CM code: case, spaces, dots and stray punctuation."""
    text = as_text(value)
    if text is None:
        return Normalised(repr(value), None, None,
                          f"expected a code as text, e.g. 'E11.9', not {type(value).__name__}")
    stripped = text.strip(_STRIP)
    if _DECIMAL_COMMA.match(stripped):  # "E11,65": a comma typed where the dot goes
        stripped = stripped.replace(",", ".")
    compact = re.sub(r"[\s.\u00a0]+", "", stripped).upper()
    # common dash and dash-like characters at the end ("E11.-") mean "a code in this category"
    if compact.endswith(("-", "\u2013", "\u2014")):
        stem = compact.rstrip("-\u2013\u2014")
        return Normalised(text, None, None,
                          f"'{text.strip()}' points at a group of codes (the dash means 'more "
                          f"characters needed'); give a complete code under {stem}")
    if not compact:
        return Normalised(text, None, None, "empty: type a code such as E11.9")
    if len(compact) > 7:
        return Normalised(text, None, None,
                          f"'{text.strip()}' is too long: ICD-10-CM codes have 3 to 7 characters")
    if not _ICD10CM_SHAPE.match(compact):
        return Normalised(text, None, None, _shape_problem(text.strip(), compact))
    dotted = compact if len(compact) == 3 else f"{compact[:3]}.{compact[3:]}"
    return Normalised(text, dotted, compact, None)


def _shape_problem(shown: str, compact: str) -> str:
    if not compact[0].isalpha():
        hint = " (did you mean the letter O?)" if compact[0] == "0" else ""
        return f"'{shown}' does not start with a letter{hint}: ICD-10-CM codes look like E11.9"
    if len(compact) < 3:
        return f"'{shown}' is too short: a code has at least 3 characters (a category such as E11)"
    if compact.isalpha():
        return f"'{shown}' is a word, not a code: ICD-10-CM codes look like E11.9 (search by words instead)"
    if not compact[1].isdigit():
        hint = " (the letter O where the digit 0 belongs?)" if compact[1] == "O" else ""
        return f"'{shown}': the second character of an ICD-10-CM code is always a digit{hint}"
    if not compact.isalnum() or not compact.isascii():
        return (f"'{shown}' contains characters that never appear in a code (letters, digits and one dot "
                "after the third character do); enter one code at a time")
    return f"'{shown}' is not shaped like an ICD-10-CM code (e.g. E11.9, S52.521A)"
