"""Encounter templates: one authored scenario, many correctly keyed variants.

A template is a case file with ``slots``: named lists of values (a scalar, or a mapping such as
``{word: left, code: S52.522A, mod: LT}``). Every other string in the file may use the slots in
``str.format`` style (``{side.word}``, ``{age}``), and the patient's pronouns come for free
(``{pt.he}``, ``{pt.his}``, ``{pt.him}``, ``{pt.He}``, ``{pt.His}``, ``{pt.noun}`` = man, woman,
boy, girl, infant). The key is rendered from the same slots, so laterality, 7th characters,
stages, units and E/M levels move with the note and can never disagree with it.

- ``only_if``: conditions a combination must satisfy (e.g. ``"{sex} == F"``); others are skipped.
- ``when`` on a diagnosis, procedure or acknowledgement: the item is in the key only when the
  condition holds (a rendered value that is empty, ``false``, ``no``, ``none`` or ``0`` is false;
  ``a == b`` and ``a != b`` compare the rendered sides).
- ``max_variants`` (default 12): when the slots give more combinations, a fixed sample is drawn,
  seeded by the template id, so the bank is identical on every machine.

Variants are ordinary encounters (ids ``<template id>-v01`` ...) and pass the same validator.
Two combinations that render the same note and key are one variant, not two.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import string
from pathlib import Path
from types import SimpleNamespace

from .model import CaseError, Encounter, from_dict

TEMPLATE_FIELDS = {"slots", "only_if", "max_variants"}
DEFAULT_MAX_VARIANTS = 12
FALSE_WORDS = {"", "false", "no", "none", "0", "null"}


class _Slot(SimpleNamespace):
    """A slot value that is a mapping: ``{side.word}``; ``{side}`` alone shows its ``word`` or ``text``."""

    def __format__(self, spec: str) -> str:
        for name in ("word", "text", "value", "code"):
            if hasattr(self, name):
                return format(getattr(self, name), spec)
        raise ValueError("a slot mapping needs a field, e.g. {side.word}")


def pronouns(sex: str, age: int) -> _Slot:
    female = sex == "F"
    if age < 1:
        noun = "infant"
    elif age < 13:
        noun = "girl" if female else "boy"
    elif age < 18:
        noun = "adolescent girl" if female else "adolescent boy"
    else:
        noun = "woman" if female else "man"
    he, his, him = ("she", "her", "her") if female else ("he", "his", "him")
    return _Slot(he=he, his=his, him=him, He=he.capitalize(), His=his.capitalize(), Him=him.capitalize(),
                 noun=noun, Noun=noun[0].upper() + noun[1:], sex_word="female" if female else "male",
                 age=age, age_words=_age_words(age))


def _age_words(age: int) -> str:
    return "newborn" if age == 0 else f"{age}-year-old"


_COMPARISON = re.compile(r"^(?P<left>.*?)\s*(?P<op>==|!=)\s*(?P<right>.*)$", re.S)


def truthy(text: str) -> bool:
    """A rendered condition: ``a == b`` / ``a != b`` compare (either side may be empty);
    otherwise false when empty, false, no, none, null or 0."""
    match = _COMPARISON.match(text)
    if match:
        left, right = match["left"].strip(), match["right"].strip()
        return (left == right) if match["op"] == "==" else (left != right)
    return text.strip().lower() not in FALSE_WORDS


class _Renderer:
    def __init__(self, template_id: str, where: str, context: dict) -> None:
        self.where = where
        self.template_id = template_id
        self.context = context
        self.formatter = string.Formatter()

    def _placeholder(self) -> re.Pattern:
        names = "|".join(re.escape(n) for n in sorted(self.context, key=len, reverse=True)) or "(?!)"
        return re.compile(r"\{(?:" + names + r")(?:\.[A-Za-z_]\w*)*(?:![rsa])?(?::[^{}]*)?\}")

    def text(self, value: str, spot: str) -> str:
        """Fill the slots; a slot value may itself name slots (``{side.word}`` inside a slot's text),
        so filling repeats while placeholders remain (at most three levels)."""
        out = value
        for _level in range(4):
            try:
                out = self.formatter.vformat(out, (), self.context)
            except (KeyError, AttributeError, IndexError, ValueError) as exc:
                raise CaseError(f"{self.where}: {spot}: cannot fill {out[:60]!r}: {exc!r} "
                                f"(slots: {', '.join(sorted(self.context))})") from None
            if not self._placeholder().search(out):
                return out
        raise CaseError(f"{self.where}: {spot}: slots still unfilled after three levels: {out[:80]!r}")

    def tree(self, value, spot: str):
        if isinstance(value, str):
            return self.text(value, spot)
        if isinstance(value, list):
            out = []
            for i, item in enumerate(value):
                here = f"{spot}[{i + 1}]"
                if isinstance(item, dict) and "when" in item:
                    if not truthy(self.text(str(item["when"]), f"{here}.when")):
                        continue
                    item = {k: v for k, v in item.items() if k != "when"}
                out.append(self.tree(item, here))
            return out
        if isinstance(value, dict):
            return {k: self.tree(v, f"{spot}.{k}") for k, v in value.items()}
        return value


def _slot_value(value):
    if isinstance(value, dict):
        return _Slot(**{str(k): _slot_value(v) for k, v in value.items()})
    if value is None:
        return ""
    return value


def _combinations(slots: dict, keep: int, seed: str, shuffle: bool = False) -> list[tuple]:
    """Slot index tuples to render, in order. All of them, in slot order, when they fit in ``keep``
    (and no course seed asks for a shuffle); otherwise a seeded random order over all of them (or
    over a sample four times ``keep`` when there are many), so every slot's values are spread
    across the variants kept, not just the first slot's first values."""
    sizes = [len(values) for values in slots.values()]
    total = 1
    for size in sizes:
        total *= size
    if total <= keep and not shuffle:
        return list(itertools.product(*(range(s) for s in sizes)))
    rng = random.Random(seed)
    if total <= keep * 4:
        picks = list(range(total))
        rng.shuffle(picks)
    else:
        picks = rng.sample(range(total), keep * 4)
    combos = []
    for index in picks:
        digits = []
        for size in reversed(sizes):
            index, digit = divmod(index, size)
            digits.append(digit)
        combos.append(tuple(reversed(digits)))
    return combos


def expand(data: dict, source: Path | None = None, use: str = "practice", seed: str | None = None) -> list[Encounter]:
    """Every variant of one template, validated for shape (not yet for coding rules). ``use`` is the
    folder's (practice or assessment) unless the template states it. ``seed`` (a course's secret,
    or one derived from it) draws and numbers the variants differently: ``-v01`` of one course is
    not ``-v01`` of another; without it the bank is the public, fixed one."""
    where = str(source) if source else "template"
    if not isinstance(data, dict):
        raise CaseError(f"{where}: expected a mapping at the top level")
    template_id = str(data.get("id") or "")
    if not template_id:
        raise CaseError(f"{where}: missing 'id'")
    where = f"{where} [{template_id}]"
    slots = data.get("slots") or {}
    if not isinstance(slots, dict) or not all(isinstance(v, list) and v for v in slots.values()):
        raise CaseError(f"{where}: slots must map each name to a non-empty list of values")
    if "pt" in slots:
        raise CaseError(f"{where}: 'pt' is reserved for the patient's pronouns")
    for name, values in slots.items():
        for value in values:
            bad = [k for k in value if not isinstance(k, str)] if isinstance(value, dict) else []
            if not isinstance(name, str) or bad:
                raise CaseError(f"{where}: slot {name!r}: field name {(bad or [name])[0]!r} is not text (YAML reads "
                                "yes/no/on/off/true/false as true or false): quote it or choose another name")
    limit = data.get("max_variants", DEFAULT_MAX_VARIANTS)
    if not isinstance(limit, int) or not 1 <= limit <= 500:
        raise CaseError(f"{where}: max_variants must be a whole number 1-500")
    only_if = data.get("only_if") or []
    if isinstance(only_if, str):
        only_if = [only_if]
    body = {k: v for k, v in data.items() if k not in TEMPLATE_FIELDS}
    body["template"] = template_id
    body.setdefault("use", use)

    variants: list[Encounter] = []
    seen: set[str] = set()
    # Combinations refused by only_if or rendering alike are skipped; the first `limit` distinct
    # ones are kept.
    sampling = template_id if seed is None else f"{template_id}:{seed}"
    for combo in _combinations(slots, limit, seed=sampling, shuffle=seed is not None):
        context = {name: _slot_value(slots[name][i]) for name, i in zip(slots, combo)}
        renderer = _Renderer(template_id, where, context)
        if not all(truthy(renderer.text(str(c), "only_if")) for c in only_if):
            continue
        patient = renderer.tree(body.get("patient") or {}, "patient")
        try:
            sex = str(patient.get("sex", "")).upper()
            age = int(str(patient.get("age", "")).strip())
        except (AttributeError, ValueError):
            raise CaseError(f"{where}: patient must render to a sex (F/M) and a whole-number age") from None
        context["pt"] = pronouns(sex, age)
        rendered = renderer.tree({k: v for k, v in body.items() if k != "patient"}, "template")
        rendered["patient"] = {"sex": sex, "age": age}
        # a variant counts only if a learner would code something different: the note or the key
        # changes (a new payer name or date alone is the same exercise)
        fingerprint = json.dumps({k: rendered.get(k) for k in ("note", "key", "setting")},
                                 sort_keys=True, default=str)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        rendered["id"] = f"{template_id}-v{len(variants) + 1:02d}"
        variants.append(from_dict(rendered, source))
        if len(variants) == limit:
            break
    if not variants:
        raise CaseError(f"{where}: no combination of slots satisfies only_if")
    return variants


def load_file(path: Path, use: str = "practice", seed: str | None = None) -> list[Encounter]:
    from .model import read_yaml

    return expand(read_yaml(path), path, use, seed)


def template_id_of(case_id: str) -> str | None:
    """``card-afib-v03`` -> ``card-afib``; None when the id is not a variant's."""
    head, sep, tail = case_id.rpartition("-v")
    return head if sep and tail.isdigit() and head else None


def find(folder: Path, template_id: str) -> Path | None:
    """The template file with this id under ``folder/templates`` (ids are unique in a folder)."""
    root = folder / "templates"
    if not root.exists():
        return None
    for path in sorted(root.rglob("*.yaml")):
        try:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("id:"):
                        if line.split(":", 1)[1].strip().strip("'\"") == template_id:
                            return path
                        break
        except (OSError, UnicodeDecodeError):
            continue
    return None
