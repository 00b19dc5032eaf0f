# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOSCA intrinsic functions: found in values, evaluated at compile time where they can be.

``get_input``, ``get_property``, ``concat``, ``join``, ``token``, ``get_artifact`` and
``get_nodes_of_type`` evaluate to plain values. ``get_attribute`` and ``get_operation_output``
name what only a run knows: they become :class:`RuntimeValue` objects, which the compiler
turns into Jinja lookups; a ``concat`` or ``join`` over them is a run-time value too. An input
that has neither a value nor a default is a run-time value as well (an extra var of the run).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import Mark, Problems, did_you_mean, join_path

FUNCTION_NAMES = frozenset(
    {
        "get_input",
        "get_property",
        "get_attribute",
        "get_operation_output",
        "concat",
        "join",
        "token",
        "get_artifact",
        "get_nodes_of_type",
    }
)
# TOSCA 2.0 writes them $get_input and so on; both spellings are read in every version.
_NAMES = FUNCTION_NAMES | {"$" + name for name in FUNCTION_NAMES}
ENTITY_KEYWORDS = ("SELF", "SOURCE", "TARGET", "HOST")
# Values of these types have no entries to index into.
_SCALAR_TYPES = frozenset({"string", "integer", "float", "boolean", "timestamp", "version", "null"})


def is_function(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _NAMES


def function_name(value) -> str:
    return next(iter(value)).lstrip("$")


@dataclass(frozen=True)
class RuntimeValue:
    """A value known only when the deployment runs.

    kind is 'attribute' (node, name, capability, path), 'output' (node, interface, operation,
    name), 'input' (name, path), 'concat' (parts), 'join' (parts, delimiter) or 'token'
    (parts: the string, delimiters, index).
    """

    kind: str
    node: str = ""
    name: str = ""
    capability: str = ""
    interface: str = ""
    operation: str = ""
    path: tuple = ()
    parts: tuple = ()
    delimiter: str = ""


def contains_runtime(value) -> bool:
    if isinstance(value, RuntimeValue):
        return True
    if isinstance(value, dict):
        return any(contains_runtime(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_runtime(item) for item in value)
    return False


@dataclass
class Context:
    """Where a function is evaluated: the node (SELF) and, in a relationship, its two ends."""

    node: object = None
    source: object = None
    target: object = None


_MISSING = object()


class Evaluator:
    """Evaluates the functions in values of one topology.

    topology offers ``nodes`` (name -> node), ``input_defs`` and ``input_values``; a node offers
    ``name``, ``type``, ``properties``, ``attributes``, ``capabilities``, ``requirements``,
    ``artifacts`` and ``host`` (the node it is hosted on, or None).
    """

    def __init__(self, topology, problems: Problems):
        self.topology = topology
        self.problems = problems
        self._active: list = []  # (node name, property path) being evaluated, for cycles
        self._done: dict = {}  # (id(node), property name) -> evaluated value

    # ---- the walk ----

    def evaluate(self, value, context: Context, path: str, mark: Mark):
        """value with every function in it evaluated (or turned into a RuntimeValue)."""
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                if key in _NAMES:
                    return self.call(key.lstrip("$"), value[key], context, path, _mark_in(value, key, mark))
            return {
                key: self.evaluate(item, context, join_path(path, key), _mark_in(value, key, mark))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [
                self.evaluate(item, context, join_path(path, index), _mark_in(value, index, mark))
                for index, item in enumerate(value)
            ]
        return value

    def call(self, name: str, args, context: Context, path: str, mark: Mark):
        path = join_path(path, name)
        handler = getattr(self, "_" + name)
        return handler(args, context, path, mark)

    def property_value(self, node, name: str, path: str, mark: Mark):
        """A node's property, evaluated in the node's own context (default when unassigned)."""
        key = (id(node), name)
        done = self._done.get(key, _MISSING)
        if done is not _MISSING:
            return done
        if key in self._active:
            cycle = [*self._active[self._active.index(key) :], key]
            names = {id(n): n.name for n in self.topology.nodes.values()}
            self.problems.add(
                mark, path, "get_property cycle: " + " -> ".join(f"{names.get(i, '?')}.{p}" for i, p in cycle)
            )
            return None
        self._active.append(key)
        try:
            if name in node.properties:
                raw = node.properties[name]
                value = self.evaluate(
                    raw,
                    Context(node),
                    f"topology_template.node_templates.{node.name}.properties.{name}",
                    _mark_in(node.properties, name, mark),
                )
            else:
                definition = node.type.merged("properties").get(name)
                value = self.evaluate(definition.default, Context(node), path, mark) if definition is not None else None
        finally:
            self._active.pop()
        self._done[key] = value
        return value

    # ---- the functions ----

    def _get_input(self, args, context, path, mark):
        name, nested = (
            (args, [])
            if isinstance(args, str)
            else (args[0], list(args[1:]))
            if isinstance(args, list) and args and isinstance(args[0], str)
            else (None, [])
        )
        if name is None:
            self.problems.add(
                mark, path, "expected get_input: <input name> or [<input name>, <nested key or index>...]"
            )
            return None
        definitions = self.topology.input_defs
        if name not in definitions:
            self.problems.add(mark, path, f"no input named {name!r}{did_you_mean(name, definitions)}")
            return None
        if nested and definitions[name].schema.type in _SCALAR_TYPES:
            self.problems.add(
                mark, path, f"input {name!r} is a {definitions[name].schema.type}: it has no entry {nested[0]!r}"
            )
            return None
        value = self.topology.input_values.get(name, _MISSING)
        if value is _MISSING:
            return RuntimeValue("input", name=name, path=tuple(nested))
        return self._nested(value, nested, f"input {name}", path, mark)

    def _entity(self, name, context: Context, path: str, mark: Mark, prop: str | None = None, has=None):
        """The node a function names: SELF, SOURCE, TARGET, HOST or a node template."""
        if name == "SELF":
            entity = context.node
        elif name == "SOURCE":
            entity = context.source
        elif name == "TARGET":
            entity = context.target
        elif name == "HOST":
            entity = context.node.host if context.node is not None else None
            # The spec names the node hosting SELF; tosca-parser and IM look further down the
            # HostedOn chain for a host that has the property, and templates rely on it.
            if prop is not None:
                has = has or _has_property
                while entity is not None and not has(entity, prop) and entity.host is not None:
                    entity = entity.host
                if entity is not None and not has(entity, prop) and getattr(entity, "host_unresolved", False):
                    return None  # further down is a template whose own definition is broken
            if entity is None and context.node is not None:
                if not getattr(context.node, "host_unresolved", False):  # else its host's problem says it
                    self.problems.add(mark, path, f"HOST: node {context.node.name!r} is not hosted on another node")
                return None
        else:
            entity = self.topology.nodes.get(name) if isinstance(name, str) else None
            if entity is None:
                entity = self.topology.relationships.get(name) if isinstance(name, str) else None
            if (
                entity is None
                and isinstance(name, str)
                and (name in self.topology.unresolved_nodes or name in self.topology.unresolved_relationships)
            ):
                return None  # a template whose own definition is broken: its problem says what is wrong
            if entity is None:
                self.problems.add(
                    mark, path, f"no node template named {name!r}{did_you_mean(name, self.topology.nodes)}"
                )
                return None
            return entity
        if entity is None:
            where = "an output or input" if context.node is None else "this context"
            self.problems.add(mark, path, f"{name} cannot be used in {where}")
        return entity

    def _path_args(self, args, function: str, what: str, path: str, mark: Mark) -> bool:
        """Whether args are [entity, names or indexes...], as get_property and get_attribute take."""
        if (
            isinstance(args, list)
            and len(args) >= 2
            and all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in args)
        ):
            return True
        self.problems.add(
            mark,
            path,
            f"expected {function}: [<node or SELF, SOURCE, TARGET, HOST>, <capability or requirement>?, <{what}>, <nested>...]",
        )
        return False

    def _get_property(self, args, context, path, mark):
        if not self._path_args(args, "get_property", "property", path, mark):
            return None
        entity = self._entity(args[0], context, path, mark, prop=args[1] if isinstance(args[1], str) else None)
        if entity is None:
            return None
        rest = list(args[1:])
        first = rest[0]
        if _has_property(entity, first):
            return self._nested(
                self.property_value(entity, first, path, mark), rest[1:], f"{entity.name}.{first}", path, mark
            )
        capability = (
            entity.capabilities.get(first) if isinstance(first, str) and hasattr(entity, "capabilities") else None
        )
        if capability is not None and len(rest) >= 2:
            value = capability.property_value(rest[1], self, path, mark)
            return self._nested(value, rest[2:], f"{entity.name}.{first}.{rest[1]}", path, mark)
        requirement = entity.requirement(first) if hasattr(entity, "requirement") else None
        if requirement is not None and len(rest) >= 2:
            target = requirement.target
            if target is None:
                if not requirement.unresolved:  # else the broken template's problem says it
                    self.problems.add(
                        mark, path, f"requirement {first!r} of {entity.name!r} has no target node template"
                    )
                return None
            if _has_property(target, rest[1]):
                return self._nested(
                    self.property_value(target, rest[1], path, mark), rest[2:], f"{target.name}.{rest[1]}", path, mark
                )
            if requirement.capability in target.capabilities and len(rest) >= 2:
                value = target.capabilities[requirement.capability].property_value(rest[1], self, path, mark)
                return self._nested(value, rest[2:], f"{target.name}.{requirement.capability}.{rest[1]}", path, mark)
        known = list(entity.type.merged("properties")) + list(getattr(entity, "capabilities", {}))
        self.problems.add(
            mark,
            path,
            f"{entity.name!r} has no property, capability or requirement {first!r}{did_you_mean(first, known)}",
        )
        return None

    def _get_attribute(self, args, context, path, mark):
        if not self._path_args(args, "get_attribute", "attribute", path, mark):
            return None
        entity = self._entity(
            args[0], context, path, mark, prop=args[1] if isinstance(args[1], str) else None, has=_has_attribute
        )
        if entity is None:
            return None
        rest = list(args[1:])
        first = rest[0]
        if _has_attribute(entity, first):
            definition = entity.type.merged("attributes").get(first) or entity.type.merged("properties").get(first)
            if len(rest) > 1 and definition is not None and definition.schema.type in _SCALAR_TYPES:
                self.problems.add(
                    mark,
                    path,
                    f"attribute {first!r} of {entity.name!r} is a {definition.schema.type}: it has no entry {rest[1]!r}",
                )
                return None
            return RuntimeValue("attribute", node=entity.name, name=first, path=tuple(rest[1:]))
        capabilities = getattr(entity, "capabilities", {})
        if first in capabilities and len(rest) >= 2:
            return RuntimeValue("attribute", node=entity.name, capability=first, name=rest[1], path=tuple(rest[2:]))
        requirement = entity.requirement(first) if hasattr(entity, "requirement") else None
        if requirement is not None and requirement.target is not None and len(rest) >= 2:
            return RuntimeValue("attribute", node=requirement.target.name, name=rest[1], path=tuple(rest[2:]))
        if requirement is not None and requirement.unresolved:
            return None  # its target is a broken template, already reported
        known = list(entity.type.merged("attributes")) + list(entity.type.merged("properties"))
        self.problems.add(mark, path, f"{entity.name!r} has no attribute {first!r}{did_you_mean(first, known)}")
        return None

    def _get_operation_output(self, args, context, path, mark):
        if not isinstance(args, list) or len(args) != 4 or not all(isinstance(a, str) for a in args):
            self.problems.add(
                mark,
                path,
                "expected get_operation_output: [<node or SELF, SOURCE, TARGET>, <interface>, <operation>, <output>]",
            )
            return None
        entity = self._entity(args[0], context, path, mark)
        if entity is None:
            return None
        interfaces = entity.type.merged("interfaces") if hasattr(entity, "type") else {}
        interface = interfaces.get(args[1])
        if interface is None:
            self.problems.add(
                mark, path, f"{entity.name!r} has no interface {args[1]!r}{did_you_mean(args[1], interfaces)}"
            )
            return None
        return RuntimeValue("output", node=entity.name, interface=args[1], operation=args[2], name=args[3])

    def _concat(self, args, context, path, mark):
        if not isinstance(args, list) or not args:
            self.problems.add(mark, path, "expected concat: [<string or function>, ...] with at least one value")
            return None
        parts = [self.evaluate(a, context, join_path(path, i), _mark_in(args, i, mark)) for i, a in enumerate(args)]
        if any(isinstance(p, RuntimeValue) for p in parts):
            return RuntimeValue("concat", parts=tuple(parts))
        return "".join(_text(p) for p in parts)

    def _join(self, args, context, path, mark):
        if (
            not isinstance(args, list)
            or not 1 <= len(args) <= 2
            or not isinstance(args[0], list)
            or (len(args) == 2 and not isinstance(args[1], str))
        ):
            self.problems.add(mark, path, "expected join: [[<string or function>, ...], <delimiter>?]")
            return None
        delimiter = args[1] if len(args) == 2 else ""
        parts = [
            self.evaluate(a, context, join_path(path, i), _mark_in(args[0], i, mark)) for i, a in enumerate(args[0])
        ]
        if any(isinstance(p, RuntimeValue) for p in parts):
            return RuntimeValue("join", parts=tuple(parts), delimiter=delimiter)
        return delimiter.join(_text(p) for p in parts)

    def _token(self, args, context, path, mark):
        if (
            not isinstance(args, list)
            or len(args) != 3
            or not isinstance(args[1], str)
            or not isinstance(args[2], int)
            or isinstance(args[2], bool)
        ):
            self.problems.add(mark, path, "expected token: [<string or function>, <delimiter characters>, <index>]")
            return None
        text = self.evaluate(args[0], context, join_path(path, 0), mark)
        if isinstance(text, RuntimeValue):
            return RuntimeValue("token", parts=(text, args[1], args[2]))
        text = _text(text)
        tokens = [text]
        for delimiter in args[1]:
            tokens = [piece for token in tokens for piece in token.split(delimiter)]
        if not 0 <= args[2] < len(tokens):
            self.problems.add(mark, path, f"token index {args[2]} is out of range: {text!r} has {len(tokens)} tokens")
            return None
        return tokens[args[2]]

    def _get_artifact(self, args, context, path, mark):
        if not isinstance(args, list) or not 2 <= len(args) <= 4:
            self.problems.add(
                mark,
                path,
                "expected get_artifact: [<node or SELF, SOURCE, TARGET, HOST>, <artifact>, <location>?, <remove>?]",
            )
            return None
        entity = self._entity(args[0], context, path, mark)
        if entity is None:
            return None
        artifact = entity.artifacts.get(args[1]) if isinstance(args[1], str) else None
        if artifact is None:
            self.problems.add(
                mark, path, f"{entity.name!r} has no artifact {args[1]!r}{did_you_mean(args[1], entity.artifacts)}"
            )
            return None
        return artifact.get("file") if isinstance(artifact, dict) else artifact

    def _get_nodes_of_type(self, args, context, path, mark):
        name = args[0] if isinstance(args, list) and len(args) == 1 else args
        if not isinstance(name, str):
            self.problems.add(mark, path, "expected get_nodes_of_type: <node type>")
            return None
        return [node.name for node in self.topology.nodes.values() if node.type.is_a(name) or node.type.name == name]

    def _nested(self, value, names: list, what: str, path: str, mark: Mark):
        for name in names:
            if isinstance(value, RuntimeValue):
                return RuntimeValue(
                    value.kind,
                    value.node,
                    value.name,
                    value.capability,
                    value.interface,
                    value.operation,
                    (*value.path, name),
                    value.parts,
                    value.delimiter,
                )
            if (isinstance(value, dict) and name in value) or (
                isinstance(value, list) and isinstance(name, int) and -len(value) <= name < len(value)
            ):
                value = value[name]
            else:
                self.problems.add(mark, path, f"{what} has no entry {name!r}")
                return None
            what = f"{what}.{name}"
        return value


def _has_property(entity, name) -> bool:
    return isinstance(name, str) and (name in entity.properties or name in entity.type.merged("properties"))


def _has_attribute(entity, name) -> bool:
    if not isinstance(name, str):
        return False
    definitions = entity.type.merged("attributes")
    # get_attribute may read properties too (3.6.2: "attributes ... or properties").
    return name in definitions or name in entity.attributes or _has_property(entity, name)


def _mark_in(container, key, default: Mark) -> Mark:
    finder = getattr(container, "mark_of", None)
    return (finder(key) if finder else None) or default


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
