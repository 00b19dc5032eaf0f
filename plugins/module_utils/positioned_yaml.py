# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML loading that keeps where every key and value came from.

Mappings load as :class:`PositionedDict` and sequences as :class:`PositionedList`; both are
plain ``dict``/``list`` subclasses that also know the :class:`Mark` of themselves, of each
key and of each value, so a checker can point at ``file:line:column`` for any problem.
Duplicate keys, which plain YAML loaders silently collapse, are reported as problems.
"""

from __future__ import annotations

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    DescriptionError,
    Mark,
    Problem,
)

try:
    import yaml

    # The C loader is several times faster; positions come from the nodes either way.
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    HAS_YAML = True
except ImportError:  # pragma: no cover - reported by the caller
    yaml = None
    _BaseLoader = object
    HAS_YAML = False


class PositionedDict(dict):
    """A dict that knows its own mark and the marks of its keys and values."""

    __slots__ = ("key_marks", "mark", "value_marks")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mark: Mark | None = None
        self.key_marks: dict = {}
        self.value_marks: dict = {}

    def mark_of(self, key) -> Mark | None:
        """Where the value of key is; where the mapping is when key is absent."""
        return self.value_marks.get(key, self.mark)

    def key_mark_of(self, key) -> Mark | None:
        return self.key_marks.get(key, self.mark)


class PositionedList(list):
    """A list that knows its own mark and the mark of each item."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, *args):
        super().__init__(*args)
        self.mark: Mark | None = None
        self.item_marks: list = []

    def mark_of(self, index: int) -> Mark | None:
        return self.item_marks[index] if index < len(self.item_marks) else self.mark


def mark_of(container, key) -> Mark | None:
    """The mark of container[key] when the container keeps positions, else None."""
    finder = getattr(container, "mark_of", None)
    return finder(key) if finder else None


class _PositionedLoader(_BaseLoader):
    def __init__(self, stream, filename: str):
        super().__init__(stream)
        self.filename = filename
        self.problems: list[Problem] = []

    def node_mark(self, node) -> Mark:
        return Mark(self.filename, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct_mapping(loader: _PositionedLoader, node):
    data = PositionedDict()
    data.mark = loader.node_mark(node)
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.problems.append(Problem(loader.node_mark(key_node), "", "a mapping key must be a scalar"))
            continue
        if key in data:
            first = data.key_marks[key]
            loader.problems.append(
                Problem(loader.node_mark(key_node), str(key), f"duplicate key (first given at line {first.line})")
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_marks[key] = loader.node_mark(key_node)
        data.value_marks[key] = loader.node_mark(value_node)


def _construct_sequence(loader: _PositionedLoader, node):
    data = PositionedList()
    data.mark = loader.node_mark(node)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_marks.append(loader.node_mark(item))


if HAS_YAML:
    _PositionedLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    _PositionedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load(text: str, filename: str):
    """Parses one YAML document; raises DescriptionError for syntax errors and duplicate keys."""
    if not HAS_YAML:
        raise DescriptionError([Problem(Mark(filename, 1, 1), "", "PyYAML is required to read this file")])
    loader = _PositionedLoader(text, filename)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark or error.context_mark
        mark = Mark(filename, where.line + 1, where.column + 1) if where else Mark(filename, 1, 1)
        reason = " ".join(part for part in (error.context, error.problem) if part)
        raise DescriptionError([Problem(mark, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as error:
        raise DescriptionError([Problem(Mark(filename, 1, 1), "", f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if loader.problems:
        raise DescriptionError(loader.problems)
    return document


def load_file(path: str):
    """Reads and parses a YAML file; an unreadable file is a DescriptionError too."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DescriptionError([Problem(Mark(path, 1, 1), "", f"cannot read the file: {error}")]) from None
    return load(text, path)
