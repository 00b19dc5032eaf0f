# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TOSCA type system: type definitions, derivation, and value checks against types.

Each type definition is read once into a :class:`TypeDef`; what it inherits (properties,
attributes, capabilities, requirements, interfaces) is merged on first use and kept, so a
topology of 10,000 nodes of a few types merges each type once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    Mark,
    Problem,
    Problems,
    describe,
    did_you_mean,
    join_path,
)
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import key_mark_of, mark_of, position
from ansible_collections.infn.cloud.plugins.module_utils.tosca import grammar
from ansible_collections.infn.cloud.plugins.module_utils.tosca.functions import is_function
from ansible_collections.infn.cloud.plugins.module_utils.tosca.values import (
    PRIMITIVE_TYPES_2_0,
    SCALAR_UNITS,
    UNBOUNDED,
    Constraint,
    ValueProblem,
    check_primitive,
    compile_constraint,
    lenient,
)

KINDS = grammar.KINDS
KIND_NOUNS = {kind: kind[:-1].replace("_", " ") for kind in KINDS}
# The normative namespace of each kind: 'Compute' and 'tosca:Compute' stand for
# tosca.nodes.Compute (Simple Profile 3.2.2, short names).
NORMATIVE_PREFIXES = {
    "data_types": "tosca.datatypes.",
    "artifact_types": "tosca.artifacts.",
    "capability_types": "tosca.capabilities.",
    "interface_types": "tosca.interfaces.",
    "relationship_types": "tosca.relationships.",
    "node_types": "tosca.nodes.",
    "group_types": "tosca.groups.",
    "policy_types": "tosca.policies.",
}
LIFECYCLE = "tosca.interfaces.node.lifecycle.Standard"
CONFIGURE = "tosca.interfaces.relationship.Configure"
# A 1.0 host offers a Container capability where 1.3 asks for Compute (Compute derives from
# Container in 1.3): a requirement for the one is met by the other (docs/tosca.md).
_LENIENT_CAPABILITIES = {"tosca.capabilities.Compute": ("tosca.capabilities.Container",)}


@dataclass(eq=False)
class Schema:
    """What a value must be: a type, constraints and the schema of list/map entries."""

    type: str
    constraints: list = field(default_factory=list)
    entry: Schema | None = None
    key: Schema | None = None


@dataclass(eq=False)
class PropertyDef:
    """A property, attribute, input or parameter definition."""

    name: str
    schema: Schema
    required: bool = True
    default: object = None
    has_default: bool = False
    mark: Mark | None = None
    description: str = ""


@dataclass(eq=False)
class CapabilityDef:
    name: str
    type: str
    properties: dict  # refinements of the capability type's own, by name
    attributes: dict
    occurrences: tuple = (1, UNBOUNDED)
    valid_source_types: list = field(default_factory=list)
    mark: Mark | None = None


@dataclass(eq=False)
class RequirementDef:
    name: str
    capability: str  # a capability type name
    node: str | None = None
    relationship: str | None = None
    occurrences: tuple = (1, 1)
    mark: Mark | None = None


@dataclass(eq=False)
class OperationDef:
    name: str
    implementation: object = None  # str, or dict with primary/dependencies
    inputs: dict = field(default_factory=dict)  # name -> value or PropertyDef
    mark: Mark | None = None


@dataclass(eq=False)
class InterfaceDef:
    name: str
    type: str
    operations: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    mark: Mark | None = None


@dataclass(eq=False)
class TypeDef:
    kind: str
    name: str
    raw: dict
    parent_name: str | None = None
    parent: TypeDef | None = None
    primitive: str | None = None  # data types: the primitive type they derive from
    ancestors: frozenset = frozenset()
    own_properties: dict = field(default_factory=dict)
    own_attributes: dict = field(default_factory=dict)
    own_capabilities: dict = field(default_factory=dict)
    own_requirements: list = field(default_factory=list)
    own_interfaces: dict = field(default_factory=dict)
    own_constraints: list = field(default_factory=list)
    valid_target_types: list = field(default_factory=list)
    entry: Schema | None = None
    normative: bool = False
    _merged: dict = field(default_factory=dict)

    def is_a(self, name: str) -> bool:
        return name in self.ancestors

    def merged(self, what: str):
        """Own definitions of what ('properties', ...) over those inherited."""
        found = self._merged.get(what)
        if found is None:
            own = getattr(self, "own_" + what)
            if isinstance(own, list):  # requirements keep their order, a redefinition replaces
                inherited = list(self.parent.merged(what)) if self.parent else []
                names = {requirement.name for requirement in own}
                found = [r for r in inherited if r.name not in names] + own
            else:
                found = dict(self.parent.merged(what)) if self.parent else {}
                found.update(own)
            self._merged[what] = found
        return found

    def memo(self, key: str, make):
        """make(self), computed once per type: what every template of the type shares (a
        1,000-node template would otherwise rebuild it 1,000 times). The result is read-only."""
        found = self._merged.get(key)
        if found is None:
            found = self._merged[key] = make(self)
        return found

    def all_constraints(self) -> list:
        found = self._merged.get("constraints")
        if found is None:
            found = (self.parent.all_constraints() if self.parent else []) + self.own_constraints
            self._merged["constraints"] = found
        return found


class TypeSystem:
    """Every type of a service template and its imports, by kind and name."""

    def __init__(self, primitives=PRIMITIVE_TYPES_2_0):
        self.types: dict = {kind: {} for kind in KINDS}
        self.aliases: dict = {kind: {} for kind in KINDS}
        self.tail_aliases: dict = {kind: {} for kind in KINDS}
        self.primitives = primitives
        # Findings that do not stop a template, kept for the user (docs/tosca.md, leniency).
        self.warnings: list = []
        self._satisfies: dict = {}  # (capability type, required type) -> bool

    def warn(self, mark: Mark, path: str, message: str) -> None:
        self.warnings.append(Problem(mark, path, message))

    def add(self, kind: str, name: str, typedef: TypeDef) -> None:
        self.types[kind][name] = typedef
        prefix = NORMATIVE_PREFIXES[kind]
        if name.startswith(prefix):
            # tosca.datatypes.network.PortInfo is also network.PortInfo and, where no other
            # type's short name is PortInfo, PortInfo (Compute is tosca.nodes.Compute, not
            # tosca.nodes.Abstract.Compute).
            short = name[len(prefix) :]
            self.aliases[kind][short] = self.aliases[kind]["tosca:" + short] = name
            tail = short.rsplit(".", 1)[-1]
            self.tail_aliases[kind].setdefault(tail, name)
            self.tail_aliases[kind].setdefault("tosca:" + tail, name)

    def alias(self, kind: str, alias: str, name: str) -> None:
        self.aliases[kind].setdefault(alias, name)

    def find(self, kind: str, name) -> TypeDef | None:
        if not isinstance(name, str):
            return None
        types = self.types[kind]
        found = types.get(name)
        if found is None:
            target = self.aliases[kind].get(name) or self.tail_aliases[kind].get(name)
            found = types.get(target) if target else None
        return found

    def canonical(self, kind: str, name: str) -> str:
        found = self.find(kind, name)
        return found.name if found else name

    def unknown(self, kind: str, name, path: str, mark: Mark, problems: Problems) -> None:
        # A data type may also be a primitive (integer, string...): 'integr' is one of those mistyped.
        candidates = [*self.primitives, *self.types[kind]] if kind == "data_types" else self.types[kind]
        problems.add(
            mark,
            path,
            f"unknown {KIND_NOUNS[kind]} {describe(name)}{did_you_mean(name, candidates)}",
        )

    def is_data_type(self, name: str) -> bool:
        return name in self.primitives or self.find("data_types", name) is not None

    def capability_satisfies(self, capability_type: str, required: str) -> bool:
        key = (capability_type, required)
        answer = self._satisfies.get(key)
        if answer is None:
            answer = self._satisfies[key] = self._capability_satisfies(capability_type, required)
        return answer

    def _capability_satisfies(self, capability_type: str, required: str) -> bool:
        found = self.find("capability_types", capability_type)
        if found is None:
            return False
        required = self.canonical("capability_types", required)
        if found.is_a(required):
            return True
        return any(found.is_a(other) for other in _LENIENT_CAPABILITIES.get(required, ()))

    # ---- finishing the types: derivation and the definitions inside each type ----

    def link(self, problems: Problems) -> None:
        """Resolves derived_from everywhere; reports unknown parents and cycles."""
        for kind in KINDS:
            for typedef in self.types[kind].values():
                if typedef.parent_name is None or typedef.parent is not None:
                    continue
                parent = self.find(kind, typedef.parent_name)
                if parent is None:
                    if kind == "data_types" and typedef.parent_name in self.primitives:
                        typedef.primitive = typedef.parent_name
                        continue
                    self.unknown(
                        kind,
                        typedef.parent_name,
                        f"{kind}.{typedef.name}.derived_from",
                        mark_of(typedef.raw, "derived_from"),
                        problems,
                    )
                    continue
                typedef.parent = parent
        for kind in KINDS:
            for typedef in self.types[kind].values():
                self._ancestors(typedef, problems)

    def _ancestors(self, typedef: TypeDef, problems: Problems) -> frozenset:
        if typedef.ancestors:
            return typedef.ancestors
        chain, node = [], typedef
        while node is not None and not node.ancestors:
            if node in chain:
                cycle = [*chain[chain.index(node) :], node]
                problems.add(
                    mark_of(node.raw, "derived_from"),
                    f"{node.kind}.{node.name}.derived_from",
                    "derivation cycle: " + " -> ".join(t.name for t in cycle),
                )
                node.parent = None  # break it so the rest of the check can go on
                break
            chain.append(node)
            node = node.parent
        inherited = node.ancestors if node is not None else frozenset()
        for member in reversed(chain):
            inherited = inherited | {member.name}
            member.ancestors = inherited
            if member.primitive is None and member.parent is not None:
                member.primitive = member.parent.primitive
        return typedef.ancestors

    # ---- values against types ----

    def check_value(self, value, schema: Schema, path: str, mark: Mark, problems: Problems) -> None:
        """Reports what in value does not fit schema; function calls are checked once evaluated."""
        if is_function(value):
            return
        type_name = schema.type
        if type_name in self.primitives:
            try:
                normal = check_primitive(value, type_name)
            except ValueProblem as problem:
                problems.add(mark, path, str(problem))
                return
            self._lenient(value, type_name, path, mark)
            constraints = schema.constraints
        else:
            datatype = self.find("data_types", type_name)
            if datatype is None:
                return  # reported where the type was named
            constraints = datatype.all_constraints() + schema.constraints
            if datatype.primitive:
                try:
                    normal = check_primitive(value, datatype.primitive)
                except ValueProblem as problem:
                    problems.add(mark, path, f"{problem} ({type_name})")
                    return
                self._lenient(value, datatype.primitive, path, mark)
                if datatype.primitive in ("list", "map") and schema.entry is None:
                    schema = Schema(type_name, schema.constraints, datatype_entry(datatype), schema.key)
            else:
                normal = value
                self._check_complex(value, datatype, path, mark, problems)
        for constraint in constraints:
            failed = constraint.check(normal, value)
            if failed:
                problems.add(mark, path, failed)
        entry = schema.entry
        if entry is not None:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    self.check_value(item, entry, join_path(path, index), mark_of(value, index) or mark, problems)
            elif isinstance(value, dict):
                for key, item in value.items():
                    self.check_value(item, entry, join_path(path, key), mark_of(value, key) or mark, problems)

    def _lenient(self, value, primitive: str, path: str, mark: Mark) -> None:
        note = lenient(value, primitive)
        if note:
            self.warn(mark, path, note)

    def _check_complex(self, value, datatype: TypeDef, path: str, mark: Mark, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.add(mark, path, f"expected a mapping of {datatype.name}'s properties, got {describe(value)}")
            return
        self.check_properties(value, datatype.merged("properties"), path, mark, problems, datatype.name)

    def check_properties(
        self, assigned, definitions: dict, path: str, mark: Mark, problems: Problems, owner: str
    ) -> None:
        """Property assignments against their definitions: unknown, missing and wrong values."""
        for name, value in assigned.items():
            definition = definitions.get(name)
            value_mark = mark_of(assigned, name) or mark
            if definition is None:
                problems.add(
                    key_mark_of(assigned, name) or value_mark,
                    join_path(path, name),
                    f"{owner} has no property {describe(name)}{did_you_mean(name, definitions)}",
                )
                continue
            self.check_value(value, definition.schema, join_path(path, name), value_mark, problems)
        for name, definition in definitions.items():
            if definition.required and not definition.has_default and name not in assigned:
                # A warning: tosca-parser and IM accept such templates, and INDIGO's rely on it.
                self.warn(mark, join_path(path, name), f"required property of {owner} is not assigned")

    def normaliser(self, type_name: str):
        """A function turning one value of type_name into its comparable form (for constraints)."""
        primitive = type_name if type_name in self.primitives else None
        if primitive is None:
            datatype = self.find("data_types", type_name)
            primitive = datatype.primitive if datatype else None
        if primitive is None or primitive == "range":  # a range's constraints bound its ends
            return lambda value: value
        if primitive in SCALAR_UNITS:  # a bare number is a number of the base unit (Puccini)
            return lambda value: (
                value
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                else check_primitive(value, primitive)
            )
        return lambda value: check_primitive(value, primitive)


def datatype_entry(datatype: TypeDef) -> Schema | None:
    node = datatype
    while node is not None:
        if node.entry is not None:
            return node.entry
        node = node.parent
    return None


# ---- reading definitions ----


class DefinitionReader:
    """Reads the definitions inside types (and inputs) from positioned YAML."""

    def __init__(self, system: TypeSystem, problems: Problems, version: str):
        self.system = system
        self.problems = problems
        self.version = version
        self._pending_types: list = []  # (kind, name, path, mark) to look up once all are known

    def need_type(self, kind: str, name, path: str, mark: Mark) -> None:
        self._pending_types.append((kind, name, path, mark))

    def check_pending(self) -> None:
        system, problems = self.system, self.problems
        for kind, name, path, mark in self._pending_types:
            if kind == "data_types":
                if not system.is_data_type(name):
                    system.unknown(kind, name, path, mark, problems)
            elif system.find(kind, name) is None:
                system.unknown(kind, name, path, mark, problems)
        self._pending_types = []

    def schema(self, raw, path: str, mark: Mark, where: str = "property") -> Schema | None:
        """The type, constraints and entry schema of a definition (or of an entry_schema)."""
        if isinstance(raw, str):  # entry_schema: <type>
            self.need_type("data_types", raw, path, mark)
            return Schema(raw)
        if not isinstance(raw, dict):
            self.problems.add(mark, path, f"expected a {where} definition (a mapping with a type), got {describe(raw)}")
            return None
        type_name = raw.get("type")
        if type_name is None:
            # 1.0 templates leave the type out of refinements; string is what they mean then.
            type_name = "string"
        elif not isinstance(type_name, str):
            self.problems.add(
                mark_of(raw, "type"), join_path(path, "type"), f"expected a type name, got {describe(type_name)}"
            )
            type_name = "string"
        else:
            self.need_type("data_types", type_name, join_path(path, "type"), mark_of(raw, "type") or mark)
        constraints = self.constraints(raw.get("constraints"), type_name, join_path(path, "constraints"), raw)
        # 2.0 names the list 'validation'; its clauses read the same.
        entry = key = None
        if "entry_schema" in raw:
            entry = self.schema(
                raw["entry_schema"], join_path(path, "entry_schema"), mark_of(raw, "entry_schema"), "entry schema"
            )
        if "key_schema" in raw:
            key = self.schema(
                raw["key_schema"], join_path(path, "key_schema"), mark_of(raw, "key_schema"), "key schema"
            )
        return Schema(type_name, constraints, entry, key)

    def constraints(self, raw, type_name: str, path: str, owner) -> list:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problems.add(
                mark_of(owner, "constraints"), path, f"expected a list of constraint clauses, got {describe(raw)}"
            )
            return []
        normalise = self.system.normaliser(type_name)
        result: list[Constraint] = []
        for index, clause in enumerate(raw):
            try:
                result.append(compile_constraint(clause, normalise))
            except ValueProblem as problem:
                self.problems.add(mark_of(raw, index), join_path(path, index), str(problem))
        return result

    def _entries(self, raw, path: str, owner_mark: Mark, what: str):
        """(name, definition, path, mark) of each entry of a section that must be a mapping."""
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.problems.add(owner_mark, path, f"expected a mapping of {what}, got {describe(raw)}")
            return
        raw = grammar.string_keys(raw, path, owner_mark, self.problems)
        for name, definition in raw.items():
            yield name, definition, join_path(path, name), mark_of(raw, name) or owner_mark

    def property_defs(self, raw, path: str, owner_mark: Mark, what: str = "property") -> dict:
        """A properties/attributes/inputs section as PropertyDefs by name."""
        result = {}
        for name, definition, item_path, mark in self._entries(raw, path, owner_mark, f"{what} definitions"):
            if definition is None:
                definition = {}
            if not isinstance(definition, dict):
                self.problems.add(
                    mark, item_path, f"expected a {what} definition (a mapping with a type), got {describe(definition)}"
                )
                continue
            grammar.check_keys(definition, grammar.PROPERTY_DEFINITION, item_path, mark, self.problems)
            schema = self.schema(definition, item_path, mark, what)
            if schema is None:
                continue
            required = definition.get("required", True)
            if not isinstance(required, bool):
                self.problems.add(
                    mark_of(definition, "required"),
                    join_path(item_path, "required"),
                    f"expected true or false, got {describe(required)}",
                )
                required = True
            has_default = "default" in definition
            if "value" in definition and not has_default:  # 2.0 fixed values, 1.x input values
                has_default = True
            description = definition.get("description")
            result[name] = PropertyDef(
                name,
                schema,
                required,
                definition.get("default", definition.get("value")),
                has_default,
                mark,
                description if isinstance(description, str) else "",
            )
        return result

    def occurrences(self, raw, path: str, mark: Mark, default: tuple) -> tuple:
        if raw is None:
            return default
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all((isinstance(b, int) and not isinstance(b, bool) and b >= 0) or b == "UNBOUNDED" for b in raw)
        ):
            self.problems.add(
                mark, path, f"expected occurrences [lower, upper] (integers or UNBOUNDED), got {describe(raw)}"
            )
            return default
        lower, upper = (UNBOUNDED if b == "UNBOUNDED" else b for b in raw)
        if lower > upper:
            self.problems.add(mark, path, f"occurrences {raw}: the lower bound exceeds the upper one")
        return (lower, upper)

    def capability_defs(self, raw, path: str, owner_mark: Mark) -> dict:
        result = {}
        for name, definition, item_path, mark in self._entries(raw, path, owner_mark, "capability definitions"):
            if isinstance(definition, str):  # short form: the capability type
                self.need_type("capability_types", definition, item_path, mark)
                result[name] = CapabilityDef(name, definition, {}, {}, mark=mark)
                continue
            if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
                self.problems.add(
                    mark,
                    item_path,
                    f"expected a capability type name or a mapping with its type, got {describe(definition)}",
                )
                continue
            grammar.check_keys(definition, grammar.CAPABILITY_DEFINITION, item_path, mark, self.problems)
            self.need_type(
                "capability_types", definition["type"], join_path(item_path, "type"), mark_of(definition, "type")
            )
            result[name] = CapabilityDef(
                name,
                definition["type"],
                self.property_defs(definition.get("properties"), join_path(item_path, "properties"), mark),
                self.property_defs(definition.get("attributes"), join_path(item_path, "attributes"), mark, "attribute"),
                self.occurrences(
                    definition.get("occurrences"),
                    join_path(item_path, "occurrences"),
                    mark_of(definition, "occurrences"),
                    (1, UNBOUNDED),
                ),
                self._names(
                    definition.get("valid_source_types"), "node_types", join_path(item_path, "valid_source_types"), mark
                ),
                mark,
            )
        return result

    def _names(self, raw, kind: str, path: str, mark: Mark) -> list:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
            self.problems.add(mark, path, f"expected a list of type names, got {describe(raw)}")
            return []
        for index, name in enumerate(raw):
            self.need_type(kind, name, join_path(path, index), mark_of(raw, index) or mark)
        return list(raw)

    def requirement_defs(self, raw, path: str, owner_mark: Mark) -> list:
        if raw is None:
            return []
        if isinstance(raw, dict):  # 2.0 and some 1.x writers: a mapping instead of a list
            raw = grammar.string_keys(raw, path, owner_mark, self.problems, "requirement name")
            raw_items = [(name, raw[name], mark_of(raw, name), join_path(path, name)) for name in raw]
        elif isinstance(raw, list):
            raw_items = []
            for index, item in enumerate(raw):
                if not isinstance(item, dict) or len(item) != 1:
                    self.problems.add(
                        mark_of(raw, index) or owner_mark,
                        join_path(path, index),
                        f"expected a one-key mapping 'name: definition', got {describe(item)}",
                    )
                    continue
                ((name, definition),) = item.items()
                if not isinstance(name, str):
                    self.problems.add(
                        mark_of(raw, index) or owner_mark,
                        join_path(path, index),
                        f"a requirement name must be a string, got {describe(name)}",
                    )
                    continue
                raw_items.append((name, definition, mark_of(item, name) or owner_mark, join_path(path, index)))
        else:
            self.problems.add(owner_mark, path, f"expected a list of requirement definitions, got {describe(raw)}")
            return []
        result = []
        for name, definition, mark, item_path in raw_items:
            item_path = join_path(item_path, name) if isinstance(raw, list) else item_path
            if isinstance(definition, str):  # short form: the capability type
                self.need_type("capability_types", definition, item_path, mark)
                result.append(RequirementDef(name, definition, mark=mark))
                continue
            if not isinstance(definition, dict) or not isinstance(definition.get("capability"), str):
                self.problems.add(
                    mark,
                    item_path,
                    f"expected a capability type name or a mapping with capability, got {describe(definition)}",
                )
                continue
            grammar.check_keys(definition, grammar.REQUIREMENT_DEFINITION, item_path, mark, self.problems)
            self.need_type(
                "capability_types",
                definition["capability"],
                join_path(item_path, "capability"),
                mark_of(definition, "capability"),
            )
            node = definition.get("node")
            if node is not None:
                self.need_type("node_types", node, join_path(item_path, "node"), mark_of(definition, "node"))
            relationship = definition.get("relationship")
            if isinstance(relationship, dict):  # extended form: {type: ..., interfaces: ...}
                relationship = relationship.get("type")
            if relationship is not None:
                self.need_type(
                    "relationship_types",
                    relationship,
                    join_path(item_path, "relationship"),
                    mark_of(definition, "relationship"),
                )
            result.append(
                RequirementDef(
                    name,
                    definition["capability"],
                    node if isinstance(node, str) else None,
                    relationship if isinstance(relationship, str) else None,
                    self.occurrences(
                        definition.get("occurrences"),
                        join_path(item_path, "occurrences"),
                        mark_of(definition, "occurrences"),
                        (1, 1),
                    ),
                    mark,
                )
            )
        return result

    def interface_defs(self, raw, path: str, owner_mark: Mark) -> dict:
        """Interfaces of a node or relationship type (or their templates' assignments)."""
        result = {}
        for name, definition, item_path, mark in self._entries(raw, path, owner_mark, "interfaces"):
            if definition is None:
                definition = {}
            if isinstance(definition, str):
                definition = position({"type": definition}, mark.file, mark.line, mark.column)
            if not isinstance(definition, dict):
                self.problems.add(
                    mark, item_path, f"expected an interface definition (a mapping), got {describe(definition)}"
                )
                continue
            type_name = definition.get("type")
            if type_name is not None:
                self.need_type("interface_types", type_name, join_path(item_path, "type"), mark_of(definition, "type"))
            elif name == "Standard":
                type_name = LIFECYCLE
            elif name == "Configure":
                type_name = CONFIGURE
            result[name] = InterfaceDef(
                name,
                type_name if isinstance(type_name, str) else "",
                self.operations(definition, item_path, mark),
                dict(definition["inputs"]) if isinstance(definition.get("inputs"), dict) else {},
                mark,
            )
        return result

    def operations(self, definition: dict, path: str, mark: Mark) -> dict:
        """Operations given under operations: (1.3) or straight in the interface (1.0-1.2)."""
        operations = {}
        sources = []
        if isinstance(definition.get("operations"), dict):
            sources.append((definition["operations"], join_path(path, "operations")))
        elif "operations" in definition:
            self.problems.add(
                mark_of(definition, "operations"),
                join_path(path, "operations"),
                f"expected a mapping of operations, got {describe(definition['operations'])}",
            )
        sources.append(({k: v for k, v in definition.items() if k not in grammar.INTERFACE_KEYS}, path))
        for source, source_path in sources:
            source = grammar.string_keys(source, source_path, mark, self.problems, "operation name")
            for name, operation in source.items():
                op_path, op_mark = (
                    join_path(source_path, name),
                    mark_of(source, name) or mark_of(definition, name) or mark,
                )
                if operation is None or isinstance(operation, str):
                    operations[name] = OperationDef(name, operation, {}, op_mark)
                    continue
                if not isinstance(operation, dict):
                    self.problems.add(
                        op_mark,
                        op_path,
                        f"expected an operation (an implementation or a mapping), got {describe(operation)}",
                    )
                    continue
                grammar.check_keys(operation, grammar.OPERATION, op_path, op_mark, self.problems)
                implementation = operation.get("implementation")
                if implementation is not None and not isinstance(implementation, (str, dict)):
                    self.problems.add(
                        mark_of(operation, "implementation"),
                        join_path(op_path, "implementation"),
                        f"expected a file name or a mapping with primary, got {describe(implementation)}",
                    )
                    implementation = None
                inputs = operation.get("inputs")
                if inputs is not None and not isinstance(inputs, dict):
                    self.problems.add(
                        mark_of(operation, "inputs"),
                        join_path(op_path, "inputs"),
                        f"expected a mapping of inputs, got {describe(inputs)}",
                    )
                    inputs = None
                operations[name] = OperationDef(name, implementation, dict(inputs or {}), op_mark)
        return operations
