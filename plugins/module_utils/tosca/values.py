# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOSCA's primitive types, scalar units and constraints (Simple Profile 1.3, 3.3 and 3.6.3).

A value is checked against a primitive type by :func:`check_primitive`, which returns the
value normalised for comparisons (a scalar-unit as a number of its base unit, a version as a
tuple) or raises :class:`ValueProblem` with what was expected. Constraints compile once per
definition into :class:`Constraint` objects that check normalised values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import describe, did_you_mean


class ValueProblem(Exception):
    """A value that does not fit; the message says what was expected."""


SCALAR_UNITS = {
    "scalar-unit.size": {
        "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3,
        "gib": 1024**3, "tb": 1000**4, "tib": 1024**4,
    },
    "scalar-unit.time": {
        "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9,
    },
    "scalar-unit.frequency": {"hz": 1, "khz": 1e3, "mhz": 1e6, "ghz": 1e9},
    "scalar-unit.bitrate": {
        "bps": 1, "kbps": 1e3, "kibps": 1024, "mbps": 1e6, "mibps": 1024**2, "gbps": 1e9,
        "gibps": 1024**3, "tbps": 1e12, "tibps": 1024**4,
        "Bps": 8, "KBps": 8e3, "KiBps": 8 * 1024, "MBps": 8e6, "MiBps": 8 * 1024**2,
        "GBps": 8e9, "GiBps": 8 * 1024**3, "TBps": 8e12, "TiBps": 8 * 1024**4,
    },
}  # fmt: skip
# The size, time and frequency units are case-insensitive (3.3.6.4: "kB" and "KB" are the
# same); bitrate units are not, since bps and Bps differ by 8.
_CASELESS = {"scalar-unit.size", "scalar-unit.time", "scalar-unit.frequency"}
_SCALAR = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*")
# The minor part is optional only for a one-part version (7 for 7.0): read with a warning.
_VERSION = re.compile(r"(\d+)(?:\.(\d+)(?:\.(\d+)(?:\.([A-Za-z0-9_]+)(?:-(\d+))?)?)?)?")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}:\d{2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?"
)

_DECIMAL = re.compile(r"[-+]?\d+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

PRIMITIVE_TYPES = frozenset(
    {"string", "integer", "float", "boolean", "timestamp", "null", "version", "range", "list", "map"}
    | set(SCALAR_UNITS)
)
# TOSCA 2.0 adds bytes; its own scalar units are declared by profiles, which we do not read yet.
PRIMITIVE_TYPES_2_0 = PRIMITIVE_TYPES | {"bytes"}
UNBOUNDED = float("inf")


def scalar_unit(value, type_name: str) -> float:
    """A scalar-unit value ('2 GB', '10 ms') as a number of its base unit."""
    units = SCALAR_UNITS[type_name]
    if not isinstance(value, str):
        raise ValueProblem(f"expected a {type_name} such as {_EXAMPLE_UNIT[type_name]}, got {describe(value)}")
    match = _SCALAR.fullmatch(value)
    unit = match and match.group(2)
    if (unit and type_name in _CASELESS) or (unit and unit not in units and unit.lower() in units):
        unit = unit.lower()
    if not match or unit not in units:
        known = ", ".join(units)
        raise ValueProblem(f"expected a {type_name} (a number and one of {known}), got {describe(value)}")
    return float(match.group(1)) * units[unit]


_EXAMPLE_UNIT = {
    "scalar-unit.size": "'4 GB'",
    "scalar-unit.time": "'30 s'",
    "scalar-unit.frequency": "'2.4 GHz'",
    "scalar-unit.bitrate": "'10 Mbps'",
}


def version(value) -> tuple:
    """A TOSCA version (major.minor[.fix[.qualifier[-build]]]) as a comparable tuple."""
    text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    match = isinstance(text, str) and _VERSION.fullmatch(text)
    if not match:
        raise ValueProblem(f"expected a version such as 1.2 or 2.0.1, got {describe(value)}")
    major, minor, fix, qualifier, build = match.groups()
    return (int(major), int(minor or 0), int(fix or 0), qualifier or "", int(build or 0))


def lenient(value, type_name: str) -> str | None:
    """What check_primitive accepted from value only to read templates in use (a warning to
    show), or None: a quoted boolean, a one-part version. Quoted numbers are everyday INDIGO
    style and stay silent."""
    if type_name == "boolean" and isinstance(value, str):
        return (
            f"{describe(value)} is a string where a boolean belongs: accepted as tosca-parser does,"
            f" but write {value.strip().lower()} unquoted (the value reaches the playbook as written)"
        )
    if type_name == "version":
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str) and text.isdigit():
            return f"the one-part version {describe(value)} is read as {int(text)}.0 (as tosca-parser does): write {int(text)}.0"
    return None


def _range(value):
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all((isinstance(b, int) and not isinstance(b, bool)) or b == "UNBOUNDED" for b in value)
    ):
        raise ValueProblem(f"expected a range [lower, upper] of integers or UNBOUNDED, got {describe(value)}")
    lower, upper = (UNBOUNDED if b == "UNBOUNDED" else b for b in value)
    if lower > upper:
        raise ValueProblem(f"a range's lower bound must not exceed its upper bound, got {value}")
    return (lower, upper)


def check_primitive(value, type_name: str):
    """value as type_name's comparable form; ValueProblem when it does not fit."""
    if type_name == "string":
        if isinstance(value, str):
            return value
        raise ValueProblem(f"expected a string, got {describe(value)}")
    if type_name == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        # '6' for 6: tosca-parser and IM read it so, and INDIGO's templates quote numbers.
        if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            return int(value)
        raise ValueProblem(f"expected an integer, got {describe(value)}")
    if type_name == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            return float(value)
        raise ValueProblem(f"expected a number, got {describe(value)}")
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        # 'true' for true: tosca-parser reads it so, as it reads '6' for 6 (a warning: lenient).
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueProblem(f"expected true or false, got {describe(value)}")
    if type_name in SCALAR_UNITS:
        return scalar_unit(value, type_name)
    if type_name == "version":
        return version(value)
    if type_name == "timestamp":
        if isinstance(value, str) and _TIMESTAMP.fullmatch(value.strip()):
            return value
        raise ValueProblem(f"expected a timestamp such as 2001-12-14t21:59:43.10-05:00, got {describe(value)}")
    if type_name == "range":
        return _range(value)
    if type_name == "null":
        if value is None:
            return value
        raise ValueProblem(f"expected null, got {describe(value)}")
    if type_name == "bytes":
        if isinstance(value, str):
            return value
        raise ValueProblem(f"expected base64 bytes as a string, got {describe(value)}")
    if type_name == "list":
        if isinstance(value, list):
            return value
        raise ValueProblem(f"expected a list, got {describe(value)}")
    if type_name == "map":
        if isinstance(value, dict):
            return value
        raise ValueProblem(f"expected a mapping, got {describe(value)}")
    raise ValueProblem(f"unknown primitive type {type_name}")  # pragma: no cover - callers check


@dataclass(frozen=True)
class Constraint:
    """One constraint clause, its operand already normalised to the constrained type."""

    operator: str
    operand: object
    text: str  # the clause as written, for messages

    def check(self, normal, raw) -> str | None:
        """None when the normalised value passes, else what was expected."""
        op, operand = self.operator, self.operand
        try:
            if op == "equal":
                ok = normal == operand
            elif op == "greater_than":
                ok = normal > operand
            elif op == "greater_or_equal":
                ok = normal >= operand
            elif op == "less_than":
                ok = normal < operand
            elif op == "less_or_equal":
                ok = normal <= operand
            elif op == "in_range" and isinstance(normal, tuple) and len(normal) == 2:  # a range
                ok = operand[0] <= normal[0] and normal[1] <= operand[1]
            elif op == "in_range":
                ok = operand[0] <= normal <= operand[1]
            elif op == "valid_values":
                ok = normal in operand
            elif op == "length":
                ok = len(raw) == operand
            elif op == "min_length":
                ok = len(raw) >= operand
            elif op == "max_length":
                ok = len(raw) <= operand
            elif op == "pattern":
                ok = isinstance(raw, str) and operand.fullmatch(raw) is not None
            else:  # schema and other clauses we accept without checking
                ok = True
        except TypeError:
            ok = False
        return None if ok else f"{describe(raw)} does not meet the constraint {self.text}"


CONSTRAINT_OPERATORS = (
    "equal",
    "greater_than",
    "greater_or_equal",
    "less_than",
    "less_or_equal",
    "in_range",
    "valid_values",
    "length",
    "min_length",
    "max_length",
    "pattern",
    "schema",
)
# TOSCA 2.0 spells them as functions: $greater_or_equal and so on.
_OPERATOR_ALIASES = {
    "$equal": "equal",
    "$greater_than": "greater_than",
    "$greater_or_equal": "greater_or_equal",
    "$less_than": "less_than",
    "$less_or_equal": "less_or_equal",
    "$in_range": "in_range",
    "$valid_values": "valid_values",
    "$length": "length",
    "$min_length": "min_length",
    "$max_length": "max_length",
    "$pattern": "pattern",
    "$schema": "schema",
}


def compile_constraint(clause, normalise) -> Constraint:
    """One clause ({operator: operand}) as a Constraint; ValueProblem when it is malformed.

    normalise turns one operand value into the constrained type's comparable form.
    """
    if not isinstance(clause, dict) or len(clause) != 1:
        raise ValueProblem(f"expected a constraint clause such as {{greater_or_equal: 1}}, got {describe(clause)}")
    ((operator, operand),) = clause.items()
    operator = _OPERATOR_ALIASES.get(operator, operator)
    text = f"{operator}: {operand!r}"
    if operator not in CONSTRAINT_OPERATORS:
        raise ValueProblem(f"unknown constraint operator {operator!r}{did_you_mean(operator, CONSTRAINT_OPERATORS)}")
    if operator in ("length", "min_length", "max_length"):
        if not isinstance(operand, int) or isinstance(operand, bool) or operand < 0:
            raise ValueProblem(f"{operator} takes a non-negative integer, got {describe(operand)}")
        return Constraint(operator, operand, text)
    if operator == "pattern":
        try:
            return Constraint(operator, re.compile(str(operand)), text)
        except re.error as error:
            raise ValueProblem(f"pattern {operand!r} is not a valid regular expression: {error}") from None
    if operator == "schema":
        return Constraint(operator, operand, text)
    if operator == "in_range":
        if not isinstance(operand, list) or len(operand) != 2:
            raise ValueProblem(f"in_range takes [lower, upper], got {describe(operand)}")
        bounds = [UNBOUNDED if b == "UNBOUNDED" else normalise(b) for b in operand]
        return Constraint(operator, tuple(bounds), text)
    if operator == "valid_values":
        if not isinstance(operand, list):
            raise ValueProblem(f"valid_values takes a list, got {describe(operand)}")
        return Constraint(operator, [normalise(v) for v in operand], text)
    return Constraint(operator, normalise(operand), text)
