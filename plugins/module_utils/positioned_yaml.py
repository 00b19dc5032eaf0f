# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML loading that keeps where every key and value came from.

Mappings load as :class:`PositionedDict` and sequences as :class:`PositionedList`; both are
plain ``dict``/``list`` subclasses that also know the :class:`Mark` of themselves, of each
key and of each value, so a checker can point at ``file:line:column`` for any problem.
Duplicate keys, which plain YAML loaders silently collapse, are reported as problems.

The documents are built straight from libyaml's event stream rather than through PyYAML's
composer and constructor: that skips the node graph and the generic constructor, so loading
with positions costs less than a plain ``yaml.load`` with the C loader (bench/tosca_compile).
Scalars resolve as YAML 1.1 does (PyYAML's SafeLoader): ``yes``/``no``/``on``/``off`` are
booleans, which the TOSCA templates of INDIGO rely on. Timestamps stay strings: TOSCA and
the federation description check them as text.

Hostile input is refused with a positioned problem, in bounded time and memory: a value that
contains itself through an alias, more than :data:`MAX_DEPTH` nested collections, a document
expanding to more than :data:`MAX_VALUES` values (each alias counting as the values it repeats:
a "billion laughs" stops here, not in whatever walks the data later), and an integer of more
than :data:`MAX_INTEGER_DIGITS` digits.
"""

from __future__ import annotations

import math
import re

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    DescriptionError,
    Mark,
    Problem,
    describe,
    join_path,
)

try:
    import yaml
    from yaml import events as _events

    # The C parser when PyYAML was built with libyaml; the pure-Python one gives the same events.
    _Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    HAS_YAML = True
except ImportError:  # pragma: no cover - reported by the caller
    yaml = None
    _events = None
    _Parser = None
    HAS_YAML = False


# Limits on one document (docs/tosca.md, "Limits"). Real templates nest 16 deep at most and
# the largest (INDIGO's custom types) hold about 7,000 values; the checks that walk the data
# recurse once per level, so the depth stays far below Python's recursion limit.
MAX_DEPTH = 64
MAX_VALUES = 1_000_000
MAX_INTEGER_DIGITS = 1000


class PositionedDict(dict):
    """A dict that knows the file it came from, its own mark and those of its keys and values."""

    __slots__ = ("_key_marks", "_start", "_value_marks", "file")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file = ""
        self._start = None
        self._key_marks: dict = {}
        self._value_marks: dict = {}

    @property
    def mark(self) -> Mark | None:
        return _mark(self.file, self._start)

    def mark_of(self, key) -> Mark | None:
        """Where the value of key is; where the mapping is when key is absent."""
        raw = self._value_marks.get(key, self._start)  # _mark(), inlined: checks call this most
        return None if raw is None else Mark.at(self.file, raw)

    def key_mark_of(self, key) -> Mark | None:
        return _mark(self.file, self._key_marks.get(key, self._start))

    def take_positions(self, other: PositionedDict) -> None:
        """Makes this mapping point where other does (for a filtered copy of other)."""
        self.file, self._start = other.file, other._start
        self._key_marks, self._value_marks = other._key_marks, other._value_marks


def overlay(base: dict, top: dict, leave_out=()) -> PositionedDict:
    """base's keys with top's laid over them (minus leave_out), each keeping its own position."""
    result = PositionedDict()
    for source in (base, top):
        for key, value in source.items():
            if key in leave_out:
                continue
            result[key] = value
            if isinstance(source, PositionedDict):
                result._key_marks[key] = source._key_marks.get(key, source._start)
                result._value_marks[key] = source._value_marks.get(key, source._start)
    if isinstance(top, PositionedDict):
        result.file, result._start = top.file, top._start
    return result


class PositionedList(list):
    """A list that knows the file it came from, its own mark and the mark of each item."""

    __slots__ = ("_item_marks", "_start", "file")

    def __init__(self, *args):
        super().__init__(*args)
        self.file = ""
        self._start = None
        self._item_marks: list = []

    @property
    def mark(self) -> Mark | None:
        return _mark(self.file, self._start)

    def mark_of(self, index: int) -> Mark | None:
        marks = self._item_marks
        return _mark(self.file, marks[index] if 0 <= index < len(marks) else self._start)


class _Position:
    """A position given by hand (line and column from 1), for data not read from a file."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int):
        self.line, self.column = line - 1, column - 1


def _mark(file: str, raw) -> Mark | None:
    # Positions are kept as libyaml's own marks (already made for every event); the Mark
    # counts lines and columns from 1 only when a problem is printed.
    return None if raw is None else Mark.at(file, raw)


def mark_of(container, key) -> Mark | None:
    """The mark of container[key] when the container keeps positions, else None."""
    if container.__class__ is PositionedDict:
        return container.mark_of(key)
    finder = getattr(container, "mark_of", None)
    return finder(key) if finder else None


def key_mark_of(container, key) -> Mark | None:
    """The mark of key itself in container when it keeps positions, else None."""
    finder = getattr(container, "key_mark_of", None)
    return finder(key) if finder else None


def position(data, file: str, line: int = 1, column: int = 1):
    """data (plain dicts and lists) as positioned containers that all point at one place."""
    where = _Position(line, column)
    if isinstance(data, dict):
        result = PositionedDict()
        for key, value in data.items():
            result[key] = position(value, file, line, column)
            result._key_marks[key] = result._value_marks[key] = where
    elif isinstance(data, list):
        result = PositionedList(position(item, file, line, column) for item in data)
        result._item_marks = [where] * len(result)
    else:
        return data
    result.file, result._start = file, where
    return result


# YAML 1.1 implicit scalars, as PyYAML's SafeLoader reads them.
_BOOLS = {
    "yes": True, "Yes": True, "YES": True, "true": True, "True": True, "TRUE": True,
    "on": True, "On": True, "ON": True,
    "no": False, "No": False, "NO": False, "false": False, "False": False, "FALSE": False,
    "off": False, "Off": False, "OFF": False,
}  # fmt: skip
_NULLS = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(
    r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
)
_FLOAT = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
# Only scalars starting with one of these can be anything but a string.
_MAYBE_TYPED = frozenset("-+.0123456789yYnNtTfFoO~")


def _sexagesimal(text: str, convert) -> float:
    value = 0
    for part in text.split(":"):
        value = value * 60 + convert(part)
    return value


def _int(text: str) -> int:
    text = text.replace("_", "")
    if len(text) > MAX_INTEGER_DIGITS:
        # Python refuses int() of more than 4,300 digits, and the work grows with the square.
        raise ValueError(f"an integer of {len(text):,} digits is too long (at most {MAX_INTEGER_DIGITS:,})")
    sign = -1 if text[0] == "-" else 1
    if text[0] in "+-":
        text = text[1:]
    if text == "0":
        return 0
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text[0] == "0":
        return sign * int(text, 8)
    if ":" in text:
        return sign * _sexagesimal(text, int)
    return sign * int(text)


def _float(text: str) -> float:
    text = text.replace("_", "").lower()
    sign = -1.0 if text[0] == "-" else 1.0
    if text[0] in "+-":
        text = text[1:]
    if text == ".inf":
        return sign * math.inf
    if text == ".nan":
        return math.nan
    if ":" in text:
        return sign * _sexagesimal(text, float)
    return sign * float(text)


def _plain(text: str):
    """A plain (unquoted, untagged) scalar as YAML 1.1 reads it."""
    if not text or text[0] not in _MAYBE_TYPED:
        return text if text else None
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if _INT.fullmatch(text):
        return _int(text)
    if _FLOAT.fullmatch(text):
        return _float(text)
    return text


_TAGGED = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": _int,
    "tag:yaml.org,2002:float": _float,
    "tag:yaml.org,2002:bool": lambda text: _BOOLS[text],
    "tag:yaml.org,2002:null": lambda text: None,
}


class _Builder:
    """Turns one document's events into positioned containers, collecting problems."""

    def __init__(self, filename: str, warnings: list | None = None):
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings = warnings
        self.anchors: dict = {}

    def problem(self, raw, path: str, message: str) -> None:
        self.problems.append(Problem(_mark(self.filename, raw), path, message))

    def scalar(self, event, stack: list):
        if event.tag is None or event.tag == "!":
            if not event.implicit[0]:
                return event.value
            # implicit[0]: plain style, so YAML 1.1's implicit types apply.
            try:
                return _plain(event.value)
            except ValueError as error:  # an integer too long to convert
                self.problem(event.start_mark, _path(stack), str(error))
                return None
        convert = _TAGGED.get(event.tag)
        if convert is None:
            self.problem(event.start_mark, _path(stack), f"unsupported YAML tag {event.tag}")
            return event.value
        try:
            return convert(event.value)
        except (KeyError, ValueError, IndexError) as error:
            reason = str(error) if str(error).startswith("an integer of") else ""
            what = event.tag.rsplit(":", 1)[-1]
            self.problem(event.start_mark, _path(stack), reason or f"{describe(event.value)} is not a valid {what}")
            return event.value

    def refuse(self, raw, stack: list, message: str):
        """Stops reading: what follows is not read, so only this problem is reported."""
        self.problems.append(Problem(_mark(self.filename, raw), _path(stack), message))
        raise DescriptionError(self.problems)

    def build(self, parser):
        """Reads events up to the end of one document; returns its data."""
        ScalarEvent, AliasEvent = _events.ScalarEvent, _events.AliasEvent
        MappingStartEvent, SequenceStartEvent = _events.MappingStartEvent, _events.SequenceStartEvent
        MappingEndEvent, SequenceEndEvent = _events.MappingEndEvent, _events.SequenceEndEvent
        filename, anchors = self.filename, self.anchors
        sizes: dict = {}  # anchor -> how many values an alias to it repeats
        values = 0  # values of the document so far, aliases expanded
        get_event = parser.get_event
        maybe_typed = _MAYBE_TYPED
        # One frame per open container: [container, is_mapping, key, key mark, merges,
        # values in it with aliases expanded, its anchor, its key or index in its parent].
        stack: list = []
        root = None
        opened = None  # the frame of a container just started, pushed once it is placed
        while True:
            event = get_event()
            kind = event.__class__
            if kind is ScalarEvent:
                text = event.value
                # A quoted string, or a plain one that cannot be a number, boolean or null: the
                # commonest scalars, read here without a call.
                if event.tag is None and (not event.implicit[0] or (text and text[0] not in maybe_typed)):
                    value = text
                else:
                    value = self.scalar(event, stack)
                size = 1
                if event.anchor:
                    anchors[event.anchor] = value
                    sizes[event.anchor] = 1
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    self.refuse(event.start_mark, stack, f"more than {MAX_DEPTH} nested collections")
                if kind is MappingStartEvent:
                    value = PositionedDict()
                    if event.tag not in (None, "!", "tag:yaml.org,2002:map"):
                        self.problem(event.start_mark, _path(stack), f"unsupported YAML tag {event.tag}")
                else:
                    value = PositionedList()
                    if event.tag not in (None, "!", "tag:yaml.org,2002:seq"):
                        self.problem(event.start_mark, _path(stack), f"unsupported YAML tag {event.tag}")
                value.file, value._start = filename, event.start_mark
                if event.anchor:
                    anchors[event.anchor] = value
                # Its values are added to its parent's count when it ends.
                size, opened = 1, [value, kind is MappingStartEvent, _NO_KEY, None, None, 1, event.anchor, None]
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                if frame[4]:
                    self.merge(frame)
                if frame[6]:
                    sizes[frame[6]] = frame[5]
                if not stack:
                    root = frame[0]
                    return root
                stack[-1][5] += frame[5]
                continue
            elif kind is AliasEvent:
                if event.anchor not in anchors:
                    self.problem(event.start_mark, _path(stack), f"unknown alias *{event.anchor}")
                value = anchors.get(event.anchor)
                if isinstance(value, (dict, list)) and any(frame[0] is value for frame in stack):
                    self.refuse(
                        event.start_mark,
                        stack,
                        f"alias *{event.anchor} is inside its own anchor: a value cannot contain itself",
                    )
                size = sizes.get(event.anchor, 1)
            elif kind is _events.DocumentEndEvent or kind is _events.StreamEndEvent:
                return root
            else:  # stream and document starts
                continue
            values += size
            if values > MAX_VALUES:
                self.refuse(
                    event.start_mark,
                    stack,
                    f"the document expands to more than {MAX_VALUES:,} values (an alias counts as the values it repeats)",
                )
            if stack:
                frame = stack[-1]
                if opened is None:
                    frame[5] += size
                # What place() does, written out for the two commonest cases: an item of a
                # sequence, and a string key (not a merge) or its value when the key is new in
                # its mapping. segment: where the value is in its parent, for a new container.
                key = frame[2]
                if not frame[1]:
                    segment = len(frame[0])
                    frame[0].append(value)
                    frame[0]._item_marks.append(event.start_mark)
                elif key is _NO_KEY and value.__class__ is str and value != "<<":
                    frame[2], frame[3] = value, event.start_mark
                    continue
                elif key.__class__ is str and key not in frame[0]:
                    segment = key
                    container = frame[0]
                    container[key] = value
                    container._key_marks[key] = frame[3]
                    container._value_marks[key] = event.start_mark
                    frame[2] = _NO_KEY
                else:
                    segment = _segment(stack)
                    self.place(frame, value, event.start_mark, event)
            elif opened is None:
                root = value
                continue
            else:
                segment = None
            if opened is not None:
                opened[7] = segment
                stack.append(opened)
                opened = None

    def place(self, frame: list, value, raw, event) -> None:
        container = frame[0]
        if not frame[1]:
            container.append(value)
            container._item_marks.append(raw)
            return
        key = frame[2]
        if key is _NO_KEY:
            if isinstance(value, (dict, list)):
                self.problem(raw, "", "a mapping key must be a scalar")
                frame[2], frame[3] = _BAD_KEY, raw
            elif value == "<<" and event.__class__ is _events.ScalarEvent and event.implicit[0]:
                frame[2], frame[3] = _MERGE, raw
            else:
                frame[2], frame[3] = value, raw
            return
        frame[2] = _NO_KEY
        if key is _BAD_KEY:
            return
        if key is _MERGE:
            frame[4] = (frame[4] or []) + [(value, raw)]
            return
        if key in container:
            first = container._key_marks[key]
            message = f"duplicate key (first given at line {first.line + 1})"
            if self.warnings is None:
                self.problem(frame[3], str(key), message)
            else:
                self.warnings.append(
                    Problem(_mark(self.filename, frame[3]), str(key), message + ": the last one is used")
                )
        container[key] = value
        container._key_marks[key] = frame[3]
        container._value_marks[key] = raw

    def merge(self, frame: list) -> None:
        """YAML 1.1 merge keys: keys of the merged mappings that the mapping lacks."""
        container = frame[0]
        for value, raw in frame[4]:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    self.problem(raw, "<<", "a merge key takes a mapping or a list of mappings")
                    continue
                for key, item in source.items():
                    if key not in container:
                        container[key] = item
                        container._key_marks[key] = raw
                        container._value_marks[key] = getattr(source, "_value_marks", {}).get(key, raw)


_NO_KEY, _BAD_KEY, _MERGE = object(), object(), object()


def _segment(stack: list):
    """The key or index the next value of the innermost open container goes under."""
    if not stack:
        return None
    frame = stack[-1]
    if not frame[1]:
        return len(frame[0])
    key = frame[2]
    if key is _MERGE:
        return "<<"
    return None if key is _NO_KEY or key is _BAD_KEY else str(key)


def _path(stack: list) -> str:
    """The field path of the value being read (a.b[2].c), for problems the reader finds."""
    path = ""
    for segment in [frame[7] for frame in stack[1:]] + [_segment(stack)]:
        if segment is not None:
            path = join_path(path, segment)
    return path


def load(text: str | bytes, filename: str, warnings: list | None = None):
    """Parses one YAML document; raises DescriptionError for syntax errors and duplicate keys.

    With a warnings list, a duplicate key is a warning appended there and the last value wins,
    as with PyYAML (TOSCA templates in use have them).
    """
    if not HAS_YAML:
        raise DescriptionError([Problem(Mark(filename, 1, 1), "", "PyYAML is required to read this file")])
    parser = _Parser(text)
    builder = _Builder(filename, warnings)
    try:
        document = builder.build(parser)
        # Anything after the first document's end but the stream's end is a second document.
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _events.DocumentStartEvent):
                builder.problem(event.start_mark, "", "expected one YAML document, found a second one here")
                break
    except yaml.reader.ReaderError as error:
        # A character YAML does not allow (a NUL): libyaml says where only as a byte offset.
        raise DescriptionError(
            [Problem(_offset_mark(text, error.position, filename), "", _unreadable(error))]
        ) from None
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark or error.context_mark
        mark = Mark(filename, where.line + 1, where.column + 1) if where else Mark(filename, 1, 1)
        reason = " ".join(part for part in (error.context, error.problem) if part)
        raise DescriptionError([Problem(mark, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as error:
        raise DescriptionError([Problem(Mark(filename, 1, 1), "", f"invalid YAML: {error}")]) from None
    finally:
        parser.dispose()
    if builder.problems:
        raise DescriptionError(builder.problems)
    return document


def _offset_mark(text: str | bytes, offset: int, filename: str) -> Mark:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    before = data[:offset].decode("utf-8", "replace")
    return Mark(filename, before.count("\n") + 1, len(before) - before.rfind("\n"))


def _unreadable(error) -> str:
    character = error.character
    code = character if isinstance(character, int) else ord(character) if character else None
    what = f"character U+{code:04X}" if code is not None else "a character"
    return f"invalid YAML: {what} is not allowed ({error.reason})"


# Byte order marks, longest first: UTF-32's little-endian mark begins with UTF-16's.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode(data: bytes) -> str:
    """YAML text in UTF-8, or UTF-16/UTF-32 with a byte order mark (YAML 1.2, 5.2)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding)  # the codec reads the mark and drops it
    return data.decode("utf-8")


def read_text(path: str) -> str:
    """A file's text; an unreadable file is a DescriptionError naming it."""
    try:
        with open(path, "rb") as handle:
            return decode(handle.read())
    except (OSError, UnicodeDecodeError) as error:
        raise DescriptionError([Problem(Mark(path, 1, 1), "", f"cannot read the file: {error}")]) from None


def load_file(path: str):
    """Reads and parses a YAML file; an unreadable file is a DescriptionError too."""
    return load(read_text(path), path)
