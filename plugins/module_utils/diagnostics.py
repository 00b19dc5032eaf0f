# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to collect and print problems in a description or a template.

Every problem names where it is (file, line, column), what it is about (a path such as
``sites[2].sla.quotas.cores``) and what was expected, and all problems of an input are reported
at once: ``file:line:column: path: message``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# A name longer than this gets no did-you-mean (difflib's work and memory grow with its
# length: a 50 MB name took 2 GB), and a word this long in a message is shortened.
LONG_NAME = 256
SHORT_NAME = 60
_LONG_WORD = re.compile(rf"[^\s,.\[\]]{{{LONG_NAME + 1},}}")  # a path's segments one by one


def shorten(text: str, limit: int = SHORT_NAME) -> str:
    """text cut to limit characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class _FromZero:
    """A line and column counted from 0, as libyaml's marks count them."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int):
        self.line, self.column = line, column


class Mark:
    """A position in a source file; line and column count from 1. Read-only.

    A check makes a mark for every value it may complain about, and a problem is rare: a mark
    made by :meth:`at` keeps the reader's own position (libyaml's mark, counted from 0) and
    counts from 1 only when its line or column is read. Such a mark costs a third of one made
    with the line and column, which made a tenth of a compile (bench/tosca_compile).
    """

    __slots__ = ("_file", "_position")

    def __init__(self, file: str, line: int, column: int):
        self._file = file
        self._position = _FromZero(line - 1, column - 1)

    @classmethod
    def at(cls, file: str, position) -> Mark:
        """The mark of position (any object with line and column counted from 0) in file."""
        mark = cls.__new__(cls)
        mark._file, mark._position = file, position
        return mark

    @property
    def file(self) -> str:
        return self._file

    @property
    def line(self) -> int:
        return self._position.line + 1

    @property
    def column(self) -> int:
        return self._position.column + 1

    def _key(self) -> tuple:
        return (self._file, self._position.line, self._position.column)

    def __eq__(self, other) -> bool:
        return other.__class__ is self.__class__ and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Mark(file={self.file!r}, line={self.line!r}, column={self.column!r})"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """What is wrong, where: in a file (mark), or in a task's options (mark None, path the option)."""

    mark: Mark | None
    path: str
    message: str

    def __post_init__(self):
        # A hostile name (megabytes long) must not make a message of megabytes.
        for name in ("path", "message"):
            text = getattr(self, name)
            if isinstance(text, str) and len(text) > LONG_NAME:
                object.__setattr__(self, name, _LONG_WORD.sub(lambda word: shorten(word.group()), text))

    def __str__(self) -> str:
        parts = [str(self.mark)] if self.mark is not None else []
        if self.path:
            parts.append(self.path)
        return ": ".join([*parts, self.message])

    def as_dict(self) -> dict:
        """The shape every plugin returns a problem in (RV ``problems``): file, line and column
        are null for a problem with a task option."""
        mark = self.mark
        return {
            "file": mark.file if mark is not None else None,
            "line": mark.line if mark is not None else None,
            "column": mark.column if mark is not None else None,
            "path": self.path,
            "message": self.message,
        }


def option_problem(option: str, message: str) -> Problem:
    """A problem with a task option (no file): ``option: message``."""
    return Problem(None, option, message)


def summary(problems: list, subject: str) -> str:
    """The one message for problems: how many, in what, then one line each; one problem with a
    task option on one line, ``subject: option: message``."""
    if len(problems) == 1 and problems[0].mark is None:
        return f"{subject}: {problems[0]}"
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return f"{count} in {subject}:\n" + "\n".join(str(problem) for problem in problems)


def failure(problems: list, subject: str) -> dict:
    """msg and problems, as every module and action plugin of the collection fails with them."""
    return {"msg": summary(problems, subject), "problems": [problem.as_dict() for problem in problems]}


class ProblemsError(Exception):
    """A failure of a module's work: problems with its options (every one found, in the one
    shape of :func:`failure`), or, with no problems, a message saying what went wrong."""

    def __init__(self, subject: str, problems: list | None = None, message: str = ""):
        self.subject = subject
        self.problems = list(problems or [])
        if self.problems:
            message = summary(self.problems, subject)
        elif subject:
            message = f"{subject}: {message}"
        super().__init__(message)

    def result(self) -> dict:
        """msg and problems, for fail_json."""
        return {"msg": str(self), "problems": [problem.as_dict() for problem in self.problems]}


class DescriptionError(Exception):
    """Raised with every problem found in one input, in source order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=_source_order)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def _source_order(problem: Problem) -> tuple:
    mark = problem.mark
    return ("", 0, 0) if mark is None else (mark.file, mark.line, mark.column)


class Problems:
    """Collects problems while an input is checked; ``raise_if_any`` ends the check."""

    def __init__(self) -> None:
        self._problems: list[Problem] = []

    def add(self, mark: Mark, path: str, message: str) -> None:
        self._problems.append(Problem(mark, path, message))

    def __iter__(self):
        return iter(self._problems)

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
        return repr(shorten(value))
    return repr(value)


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to word, else an empty string."""
    word = str(word)
    if len(word) > LONG_NAME:
        return ""
    names = [name for name in map(str, candidates) if len(name) <= LONG_NAME]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def join_path(parent: str, key) -> str:
    """Path of a child: ``a.b`` for a mapping key, ``a[3]`` for a sequence index."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)
