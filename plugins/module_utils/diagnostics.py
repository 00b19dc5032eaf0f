# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to collect and print problems in a description or a template.

Every problem names where it is (file, line, column), what it is about (a path such as
``sites[2].sla.quotas.cores``) and what was expected, and all problems of an input are reported
at once: ``file:line:column: path: message``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """A position in a source file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    mark: Mark
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.mark}: {self.path}: {self.message}" if self.path else f"{self.mark}: {self.message}"


class DescriptionError(Exception):
    """Raised with every problem found in one input, in source order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.mark.file, p.mark.line, p.mark.column))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class Problems:
    """Collects problems while an input is checked; ``raise_if_any`` ends the check."""

    def __init__(self) -> None:
        self._problems: list[Problem] = []

    def add(self, mark: Mark, path: str, message: str) -> None:
        self._problems.append(Problem(mark, path, message))

    def raise_if_any(self) -> None:
        if self._problems:
            raise DescriptionError(self._problems)


def describe(value) -> str:
    """How a value reads in a message: 'ten' for strings, a list, a mapping, null, 3."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return repr(value)


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to word, else an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def join_path(parent: str, key) -> str:
    """Path of a child: ``a.b`` for a mapping key, ``a[3]`` for a sequence index."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)
