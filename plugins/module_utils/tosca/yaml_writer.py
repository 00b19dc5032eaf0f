# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes the compiled playbook and vars as block-style YAML.

The compiled data holds only mappings, lists, strings, numbers, booleans and null, so a
direct writer does what PyYAML's dumper does for it at a fraction of the cost (the dumper's
generic representer was most of a compile's time). Strings that YAML would read as something
else, or that need escapes, are written double-quoted with JSON's escapes, which YAML's
double-quoted style accepts.
"""

from __future__ import annotations

import json
import math
import re


class Unsafe(str):
    """A string Ansible must not template (it holds {{ or {% as data): written with !unsafe."""


# Plain scalars that read back as the same string: no indicator first, no ': ' or ' #'
# inside, no surrounding blanks, and not a YAML 1.1 boolean, null or number.
_PLAIN = re.compile(r"[A-Za-z_/.][A-Za-z0-9_ ./()@+=,~-]*(?<! )")
_RESERVED = re.compile(
    r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~"
    r"|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|[-+.0-9].*)"
)


# What YAML does not allow in a stream even quoted, and YAML 1.1's other line breaks (NEL,
# LS, PS), which a reader would fold: escaped as \\uXXXX.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, _exponent_mark, _exponent = text.partition("e")
        # YAML 1.1 reads 1e-05 as a string: its floats need a dot.
        return text if "." in mantissa or not _exponent_mark else f"{mantissa}.0e{_exponent}"
    text = str(value)
    quoted = text if _PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text) else _quote(text)
    return f"!unsafe {quoted}" if isinstance(value, Unsafe) else quoted


def _key(key) -> str:
    text = str(key)
    return text if _PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text) else _quote(text)


def _write(value, indent: str, out: list, known: dict, first: str | None = None) -> None:
    """Appends the lines of a mapping or list value, each starting at indent but the first,
    which starts with first when given (the dash of the list item the value is)."""
    lead = indent if first is None else first
    if isinstance(value, dict):
        for key, item in value.items():
            name = _text(key, known) if key.__class__ is str else _key(key)
            if isinstance(item, (dict, list)) and item:
                out.append(f"{lead}{name}:")
                _write(item, indent + "  ", out, known)
            else:
                out.append(f"{lead}{name}: {_text(item, known)}")
            lead = indent
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                _write(item, indent + "  ", out, known, f"{lead}- ")
            else:
                out.append(f"{lead}- {_text(item, known)}")
            lead = indent


def _text(value, known: dict) -> str:
    """A key or value inline; a plain string's text is remembered in known, as a compile
    writes the same names and values once per node."""
    if value.__class__ is not str:
        return _inline(value)
    text = known.get(value)
    if text is None:
        text = known[value] = scalar(value)
    return text


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dumps(data) -> str:
    """data (a mapping or a list) as a YAML document."""
    if not isinstance(data, (dict, list)) or not data:
        return _inline(data) + "\n"
    out: list = []
    _write(data, "", out, {})
    return "\n".join(out) + "\n"
