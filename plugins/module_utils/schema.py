# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declarative checks of loaded YAML data, reporting every problem with its position.

A spec checks a value and returns it as plain Python data (defaults filled in), adding a
problem for anything wrong instead of stopping: ``Record`` rejects unknown keys with a
did-you-mean and reports missing required ones, scalars say what they expected and what they
got (``expected an integer, got 'ten'``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    Mark,
    Problems,
    describe,
    did_you_mean,
    join_path,
)
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import key_mark_of, mark_of

INVALID = object()  # what a check returns for a value it could not accept


class Spec:
    """Base of all specs: ``check`` returns the accepted value or INVALID."""

    expected = "a value"

    def check(self, value, path: str, mark: Mark, problems: Problems):
        raise NotImplementedError

    def wrong(self, value, path: str, mark: Mark, problems: Problems, hint: str = ""):
        problems.add(mark, path, f"expected {self.expected}, got {describe(value)}{hint}")
        return INVALID


class Any(Spec):
    def check(self, value, path, mark, problems):
        return value


class Str(Spec):
    def __init__(self, choices=None, pattern: str | None = None, pattern_help: str = ""):
        self.choices = list(choices) if choices else None
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_help = pattern_help
        self.expected = "one of " + ", ".join(self.choices) if self.choices else "a string"

    def check(self, value, path, mark, problems):
        if not isinstance(value, str):
            return self.wrong(value, path, mark, problems)
        if self.choices and value not in self.choices:
            return self.wrong(value, path, mark, problems, hint=did_you_mean(value, self.choices))
        if self.pattern and not self.pattern.fullmatch(value):
            problems.add(mark, path, f"{value!r} is not {self.pattern_help or 'valid'}")
            return INVALID
        return value


class Number(Spec):
    kinds: tuple = (int, float)
    noun = "a number"

    def __init__(self, minimum: float | None = None):
        self.minimum = minimum
        self.expected = self.noun if minimum is None else f"{self.noun} >= {minimum}"

    def check(self, value, path, mark, problems):
        # YAML's true/false are ints to Python, never numbers to an operator.
        if isinstance(value, bool) or not isinstance(value, self.kinds):
            return self.wrong(value, path, mark, problems)
        if self.minimum is not None and value < self.minimum:
            return self.wrong(value, path, mark, problems)
        return value


class Int(Number):
    kinds = (int,)
    noun = "an integer"


class Bool(Spec):
    expected = "true or false"

    def check(self, value, path, mark, problems):
        if not isinstance(value, bool):
            return self.wrong(value, path, mark, problems)
        return value


class ListOf(Spec):
    def __init__(self, item: Spec, unique: bool = False):
        self.item = item
        self.unique = unique
        self.expected = "a list"

    def check(self, value, path, mark, problems):
        if not isinstance(value, list):
            return self.wrong(value, path, mark, problems)
        result, seen = [], set()
        for index, item in enumerate(value):
            item_path = join_path(path, index)
            item_mark = mark_of(value, index) or mark
            checked = self.item.check(item, item_path, item_mark, problems)
            if checked is INVALID:
                continue
            if self.unique and isinstance(checked, str):
                if checked in seen:
                    problems.add(item_mark, item_path, f"{checked!r} is listed twice")
                    continue
                seen.add(checked)
            result.append(checked)
        return result


class MapOf(Spec):
    """A mapping with free keys (strings) whose values all follow one spec."""

    def __init__(self, value: Spec):
        self.value = value
        self.expected = "a mapping"

    def check(self, value, path, mark, problems):
        if not isinstance(value, dict):
            return self.wrong(value, path, mark, problems)
        result = {}
        for key, item in value.items():
            item_path = join_path(path, key)
            if not isinstance(key, str):
                problems.add(mark, item_path, f"expected a string key, got {describe(key)}")
                continue
            checked = self.value.check(item, item_path, mark_of(value, key) or mark, problems)
            if checked is not INVALID:
                result[key] = checked
        return result


@dataclass
class Field:
    spec: Spec
    required: bool = False
    default: object = None


@dataclass
class Record(Spec):
    """A mapping with a fixed set of keys."""

    fields: dict = field(default_factory=dict)
    expected: str = "a mapping"

    def check(self, value, path, mark, problems):
        if not isinstance(value, dict):
            return self.wrong(value, path, mark, problems)
        result = {}
        for key in value:
            if key not in self.fields:
                key_mark = key_mark_of(value, key) or mark
                problems.add(key_mark or mark, join_path(path, key), f"unknown key{did_you_mean(key, self.fields)}")
        for name, spec_field in self.fields.items():
            if name in value:
                checked = spec_field.spec.check(
                    value[name], join_path(path, name), mark_of(value, name) or mark, problems
                )
                if checked is not INVALID:
                    result[name] = checked
            elif spec_field.required:
                problems.add(getattr(value, "mark", None) or mark, join_path(path, name), "required key is missing")
            else:
                result[name] = copy.deepcopy(spec_field.default)
        return result
