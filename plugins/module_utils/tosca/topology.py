# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology of a service template: inputs, node templates and their requirements,
relationship templates, groups, policies, outputs and substitution mappings, checked
against the type system, with every function evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    Mark,
    Problems,
    describe,
    did_you_mean,
    join_path,
)
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import key_mark_of, mark_of, overlay
from ansible_collections.infn.cloud.plugins.module_utils.tosca import grammar
from ansible_collections.infn.cloud.plugins.module_utils.tosca.functions import (
    Context,
    Evaluator,
    contains_runtime,
    is_function,
)
from ansible_collections.infn.cloud.plugins.module_utils.tosca.loader import Service
from ansible_collections.infn.cloud.plugins.module_utils.tosca.types import (
    DefinitionReader,
    InterfaceDef,
    OperationDef,
    TypeDef,
)

HOSTED_ON = "tosca.relationships.HostedOn"
DEPENDS_ON = "tosca.relationships.DependsOn"
ROOT_RELATIONSHIP = "tosca.relationships.Root"
_COPY_FAILED = object()  # a copy left without a (known) type: its problem is already reported


@dataclass(eq=False)
class Capability:
    """A capability of a node template: its definition and the properties assigned to it."""

    name: str
    type: TypeDef | None
    definitions: dict  # property definitions, the type's refined by the node type's
    assigned: dict
    _values: dict = field(default_factory=dict)

    def property_value(self, name: str, evaluator: Evaluator, path: str, mark: Mark):
        if name in self._values:
            return self._values[name]
        if name in self.assigned:
            value = self.assigned[name]
        elif name in self.definitions:
            value = self.definitions[name].default
        else:
            evaluator.problems.add(
                mark, path, f"capability {self.name!r} has no property {name!r}{did_you_mean(name, self.definitions)}"
            )
            return None
        return value


@dataclass(eq=False)
class Requirement:
    name: str
    target: NodeTemplate | None
    capability: str | None  # the target's capability name
    relationship: TypeDef | None
    relationship_properties: dict = field(default_factory=dict)
    relationship_interfaces: dict = field(default_factory=dict)
    target_type: str | None = None  # abstract: a node type the orchestrator must find
    mark: Mark | None = None
    operation_inputs: dict = field(default_factory=dict)  # (interface, operation) -> evaluated inputs
    # Names a template whose own definition is broken (already reported): target or relationship unknown.
    unresolved: bool = False
    _entity: RelationshipTemplate | None = None

    @property
    def is_hosted_on(self) -> bool:
        return self.relationship is not None and self.relationship.is_a(HOSTED_ON)

    def context(self, source: NodeTemplate) -> Context:
        """Where the relationship's values are evaluated: SELF is the relationship itself
        (its properties, such as AttachesTo's location), SOURCE and TARGET its two ends."""
        if self.relationship is None:
            return Context(source, source, self.target)
        if self._entity is None:
            # Made once and kept: the evaluator caches values by the entity's identity.
            self._entity = RelationshipTemplate(
                f"{source.name}.{self.name}",
                self.relationship,
                self.relationship_properties,
                self.relationship_interfaces,
            )
        return Context(self._entity, source, self.target)


@dataclass(eq=False)
class NodeTemplate:
    name: str
    type: TypeDef
    raw: dict
    mark: Mark
    properties: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    capabilities: dict = field(default_factory=dict)
    requirements: list = field(default_factory=list)
    interfaces: dict = field(default_factory=dict)  # name -> InterfaceDef, type's merged with the template's
    artifacts: dict = field(default_factory=dict)
    directives: list = field(default_factory=list)
    host: NodeTemplate | None = None
    host_unresolved: bool = False  # hosted on a template whose own definition is broken
    values: dict = field(default_factory=dict)  # evaluated properties
    operation_inputs: dict = field(default_factory=dict)  # (interface, operation) -> evaluated inputs

    def requirement(self, name: str) -> Requirement | None:
        for requirement in self.requirements:
            if requirement.name == name:
                return requirement
        return None


@dataclass(eq=False)
class RelationshipTemplate:
    name: str
    type: TypeDef
    properties: dict
    interfaces: dict
    attributes: dict = field(default_factory=dict)
    capabilities: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)
    host: None = None


@dataclass
class Output:
    name: str
    value: object
    mark: Mark
    description: str = ""


@dataclass
class Topology:
    service: Service
    input_defs: dict = field(default_factory=dict)
    input_values: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)
    relationships: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)  # name -> (type, members, properties)
    policies: dict = field(default_factory=dict)  # name -> (type, targets, properties)
    outputs: dict = field(default_factory=dict)
    substitution: dict | None = None
    description: str = ""
    # Templates whose definition is broken (a problem is already reported: unknown type, not a
    # mapping...): they exist for name resolution, so what names them adds no problem of its own.
    unresolved_nodes: set = field(default_factory=set)
    unresolved_relationships: set = field(default_factory=set)
    unresolved_groups: set = field(default_factory=set)
    # (node names in deployment order, levels of independence, cycles): compiler.dependency_order.
    dependency_order: tuple | None = None


def build_topology(service: Service, inputs: dict | None, problems: Problems, require_inputs: bool = False) -> Topology:
    """Reads, checks and evaluates the topology_template of service."""
    document = service.document
    types = service.types
    topology = Topology(service)
    description = document.get("description")
    topology.description = description if isinstance(description, str) else ""
    raw = document.get("topology_template")
    top = Mark(service.source.path, 1, 1)
    if raw is None:
        return topology
    path = "topology_template"
    tmark = mark_of(document, "topology_template") or top
    if not isinstance(raw, dict):
        problems.add(tmark, path, f"expected a mapping, got {describe(raw)}")
        return topology
    grammar.check_keys(raw, grammar.TOPOLOGY_TEMPLATE, path, tmark, problems)
    reader = DefinitionReader(types, problems, service.version)
    topology.input_defs = reader.property_defs(raw.get("inputs"), f"{path}.inputs", tmark, "input")
    reader.check_pending()
    _input_values(topology, inputs or {}, problems, require_inputs, tmark)

    node_section = _mapping(raw, "node_templates", path, tmark, problems)
    relationship_section = _mapping(raw, "relationship_templates", path, tmark, problems)
    for name, node_raw in relationship_section.items():
        relationship = _relationship_template(
            name,
            node_raw,
            types,
            f"{path}.relationship_templates.{name}",
            mark_of(relationship_section, name) or tmark,
            problems,
        )
        if relationship is not None:
            topology.relationships[name] = relationship
        else:
            topology.unresolved_relationships.add(name)
    for name, node_raw in node_section.items():
        node = None
        if isinstance(node_raw, dict) and "copy" in node_raw:
            inherits_type = "type" not in node_raw
            node_raw = _copied(name, node_raw, node_section, f"{path}.node_templates.{name}.copy", problems)
            copied_type = node_raw.get("type") if isinstance(node_raw, dict) else None
            if inherits_type and not (isinstance(copied_type, str) and types.find("node_types", copied_type)):
                node_raw = _COPY_FAILED  # the copied template's own problem says what is wrong with its type
        if node_raw is not _COPY_FAILED:
            node = _node_template(
                name, node_raw, types, f"{path}.node_templates.{name}", mark_of(node_section, name) or tmark, problems
            )
        if node is not None:
            topology.nodes[name] = node
        else:
            topology.unresolved_nodes.add(name)
    for node in topology.nodes.values():
        _requirements(node, topology, types, problems)
    _hosts(topology, problems)

    evaluator = Evaluator(topology, problems)
    for node in topology.nodes.values():
        context = Context(node)
        node_path = f"{path}.node_templates.{node.name}"
        for name in node.type.merged("properties"):
            if name in node.properties or node.type.merged("properties")[name].has_default:
                node.values[name] = evaluator.property_value(node, name, f"{node_path}.properties.{name}", node.mark)
        _check_evaluated(node, types, node_path, problems)
        for capability in node.capabilities.values():
            for name, value in capability.assigned.items():
                if is_function(value):
                    capability._values[name] = evaluator.evaluate(
                        value,
                        context,
                        f"{node_path}.capabilities.{capability.name}.properties.{name}",
                        mark_of(capability.assigned, name) or node.mark,
                    )
        node.operation_inputs = _evaluate_inputs(
            evaluator, node.interfaces, context, f"{node_path}.interfaces", node.mark
        )
        for requirement in node.requirements:
            if requirement.unresolved:
                continue  # its TARGET or relationship is a broken template, already reported
            relationship_context = requirement.context(node)
            requirement.operation_inputs = _evaluate_inputs(
                evaluator,
                requirement.relationship_interfaces,
                relationship_context,
                f"{node_path}.requirements.{requirement.name}.relationship.interfaces",
                requirement.mark or node.mark,
            )
            for name, value in requirement.relationship_properties.items():
                evaluator.evaluate(
                    value,
                    relationship_context,
                    f"{node_path}.requirements.{requirement.name}.relationship.properties.{name}",
                    requirement.mark or node.mark,
                )
    topology.groups = _groups(
        raw, topology, types, path, tmark, problems, "groups", "group_types", grammar.GROUP, "members"
    )
    topology.policies = _groups(
        raw, topology, types, path, tmark, problems, "policies", "policy_types", grammar.POLICY, "targets"
    )
    _outputs(raw, topology, evaluator, path, tmark, problems)
    _substitution(raw, topology, types, path, tmark, problems)
    imported_substitutions(service, problems)
    return topology


def _copied(name: str, raw: dict, section: dict, path: str, problems: Problems):
    """A template with copy: the named template's keys, this one's laid over them (3.8.3).
    _COPY_FAILED when the copy fails and the template has no type of its own: the copy's
    problem is the only one (not also "type: required key is missing")."""
    source_name = raw["copy"]
    source = section.get(source_name) if isinstance(source_name, str) else None
    if not isinstance(source, dict) or source_name == name:
        problems.add(
            mark_of(raw, "copy"),
            path,
            f"no other template named {describe(source_name)} to copy{did_you_mean(source_name, section)}",
        )
        return raw if "type" in raw else _COPY_FAILED
    if "copy" in source:
        problems.add(
            mark_of(raw, "copy"), path, f"{source_name!r} is itself a copy: a template cannot copy one that uses copy"
        )
        return raw if "type" in raw else _COPY_FAILED
    return overlay(source, raw, leave_out=("copy",))


def _input_values(topology: Topology, given: dict, problems: Problems, require: bool, mark: Mark) -> None:
    types = topology.service.types
    definitions = topology.input_defs
    for name, value in given.items():
        if name not in definitions:
            problems.add(mark, f"inputs.{name}", f"the template has no input {name!r}{did_you_mean(name, definitions)}")
            continue
        types.check_value(value, definitions[name].schema, f"inputs.{name}", definitions[name].mark or mark, problems)
        topology.input_values[name] = value
    for name, definition in definitions.items():
        if name in given:
            continue
        if definition.has_default:
            if definition.default is not None:
                types.check_value(
                    definition.default,
                    definition.schema,
                    f"topology_template.inputs.{name}.default",
                    definition.mark or mark,
                    problems,
                )
            topology.input_values[name] = definition.default
        elif require and definition.required:
            problems.add(
                definition.mark or mark,
                f"topology_template.inputs.{name}",
                "required input has no value and no default: give it in inputs",
            )


def _relationship_template(name, raw, types, path, mark, problems) -> RelationshipTemplate | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        problems.add(mark, path, f"expected a relationship template (a mapping with a type), got {describe(raw)}")
        return None
    grammar.check_keys(raw, grammar.RELATIONSHIP_TEMPLATE, path, mark, problems)
    typedef = types.find("relationship_types", raw["type"])
    if typedef is None:
        types.unknown("relationship_types", raw["type"], f"{path}.type", mark_of(raw, "type"), problems)
        return None
    properties = _mapping(raw, "properties", path, mark, problems)
    types.check_properties(properties, typedef.merged("properties"), f"{path}.properties", mark, problems, typedef.name)
    reader = DefinitionReader(types, problems, "")
    interfaces = _merge_interfaces(
        typedef.merged("interfaces"), reader.interface_defs(raw.get("interfaces"), f"{path}.interfaces", mark)
    )
    return RelationshipTemplate(name, typedef, properties, interfaces)


def _mapping(raw, key: str, path: str, mark: Mark, problems: Problems) -> dict:
    """raw[key] when it is a mapping with string keys; what else is there is reported."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(mark_of(raw, key) or mark, f"{path}.{key}", f"expected a mapping, got {describe(value)}")
        return {}
    return grammar.string_keys(value, f"{path}.{key}", mark_of(raw, key) or mark, problems)


def _node_template(name, raw, types, path, mark, problems) -> NodeTemplate | None:
    if not isinstance(raw, dict):
        problems.add(mark, path, f"expected a node template (a mapping with a type), got {describe(raw)}")
        return None
    grammar.check_keys(raw, grammar.NODE_TEMPLATE, path, mark, problems)
    type_name = raw.get("type")
    if not isinstance(type_name, str):
        problems.add(
            mark,
            f"{path}.type",
            "required key is missing" if type_name is None else f"expected a node type name, got {describe(type_name)}",
        )
        return None
    typedef = types.find("node_types", type_name)
    if typedef is None:
        types.unknown("node_types", type_name, f"{path}.type", mark_of(raw, "type"), problems)
        return None
    node = NodeTemplate(name, typedef, raw, mark)
    if "node_filter" in raw:
        check_node_filter(raw["node_filter"], f"{path}.node_filter", mark_of(raw, "node_filter") or mark, problems)
    node.properties = _mapping(raw, "properties", path, mark, problems)
    node.attributes = _mapping(raw, "attributes", path, mark, problems)
    types.check_properties(
        node.properties, typedef.merged("properties"), f"{path}.properties", mark, problems, f"node type {typedef.name}"
    )
    directives = raw.get("directives")
    if isinstance(directives, list):
        node.directives = [d for d in directives if isinstance(d, str)]
    capability_defs = typedef.merged("capabilities")
    for cap_name, cap_type, definitions in typedef.memo("template capabilities", lambda t: _capabilities(t, types)):
        node.capabilities[cap_name] = Capability(cap_name, cap_type, definitions, {})
    assigned = _mapping(raw, "capabilities", path, mark, problems)
    for cap_name, cap_raw in assigned.items():
        cap_path, cap_mark = f"{path}.capabilities.{cap_name}", mark_of(assigned, cap_name) or mark
        capability = node.capabilities.get(cap_name)
        if capability is None:
            problems.add(
                key_mark_of(assigned, cap_name) or cap_mark,
                cap_path,
                f"node type {typedef.name} has no capability {cap_name!r}{did_you_mean(cap_name, capability_defs)}",
            )
            continue
        if cap_raw is None:
            continue
        if not isinstance(cap_raw, dict):
            problems.add(cap_mark, cap_path, f"expected a mapping with properties, got {describe(cap_raw)}")
            continue
        grammar.check_keys(cap_raw, grammar.CAPABILITY_ASSIGNMENT, cap_path, cap_mark, problems)
        properties = _mapping(cap_raw, "properties", cap_path, cap_mark, problems)
        owner = f"capability {cap_name} ({capability.type.name if capability.type else '?'})"
        types.check_properties(properties, capability.definitions, f"{cap_path}.properties", cap_mark, problems, owner)
        capability.assigned = properties
    if raw.get("interfaces") is None:
        node.interfaces = _shared_interfaces(typedef)
    else:
        reader = DefinitionReader(types, problems, "")
        assigned_interfaces = reader.interface_defs(raw.get("interfaces"), f"{path}.interfaces", mark)
        node.interfaces = _merge_interfaces(
            typedef.merged("interfaces"), assigned_interfaces, f"{path}.interfaces", problems
        )
        _check_operations(
            typedef.merged("interfaces"), node.interfaces, assigned_interfaces, types, f"{path}.interfaces", problems
        )
    node.artifacts = typedef.memo("template artifacts", _artifacts)
    if "artifacts" in raw:
        node.artifacts = {**node.artifacts, **_mapping(raw, "artifacts", path, mark, problems)}
    return node


def _shared_interfaces(typedef: TypeDef) -> dict:
    """The interfaces of a type's templates that assign no operation (most do not): made once
    per type and shared, read-only."""
    return typedef.memo("template interfaces", lambda t: _merge_interfaces(t.merged("interfaces"), {}))


def _capabilities(typedef: TypeDef, types) -> list:
    """(name, type, property definitions) of each capability a node type's templates have."""
    found = []
    for name, definition in typedef.merged("capabilities").items():
        capability_type = types.find("capability_types", definition.type)
        definitions = dict(capability_type.merged("properties")) if capability_type else {}
        definitions.update(definition.properties)
        found.append((name, capability_type, definitions))
    return found


def _artifacts(typedef: TypeDef) -> dict:
    found = {}
    chain = []
    node = typedef
    while node is not None:
        chain.append(node)
        node = node.parent
    for node in reversed(chain):
        raw = node.raw.get("artifacts")
        if isinstance(raw, dict):
            found.update(raw)
    return found


def _merge_interfaces(defined: dict, assigned: dict, path: str = "", problems: Problems | None = None) -> dict:
    """The type's interfaces with the template's operations and inputs laid over them."""
    result = {}
    for name, interface in defined.items():
        result[name] = InterfaceDef(
            name, interface.type, dict(interface.operations), dict(interface.inputs), interface.mark
        )
    for name, interface in assigned.items():
        base = result.get(name)
        if base is None:
            if problems is not None and path and name not in ("Standard", "Configure"):
                problems.add(
                    interface.mark,
                    f"{path}.{name}",
                    f"the node type has no interface {name!r}{did_you_mean(name, defined)}",
                )
            result[name] = interface
            continue
        base.inputs.update(interface.inputs)
        for op_name, operation in interface.operations.items():
            inherited = base.operations.get(op_name)
            if inherited is not None and operation.implementation is None:
                operation = OperationDef(
                    op_name, inherited.implementation, {**inherited.inputs, **operation.inputs}, operation.mark
                )
            elif inherited is not None:
                operation = OperationDef(
                    op_name, operation.implementation, {**inherited.inputs, **operation.inputs}, operation.mark
                )
            base.operations[op_name] = operation
    return result


def interface_operations(types, type_name: str) -> dict:
    """The operations an interface type declares, its ancestors' included."""
    typedef = types.find("interface_types", type_name)
    operations: dict = {}
    chain = []
    while typedef is not None:
        chain.append(typedef)
        typedef = typedef.parent
    for typedef in reversed(chain):
        operations.update(typedef.own_interfaces[""].operations if "" in typedef.own_interfaces else {})
    return operations


def _check_operations(defined: dict, merged: dict, assigned: dict, types, path: str, problems: Problems) -> None:
    """Operations a template assigns must be declared by the interface's type or the node type."""
    for name, interface in assigned.items():
        declared = interface_operations(types, merged[name].type) if name in merged and merged[name].type else {}
        if not declared:
            continue
        if name in defined:
            declared = {**declared, **defined[name].operations}
        for operation in interface.operations:
            if operation not in declared:
                problems.add(
                    interface.operations[operation].mark or interface.mark,
                    f"{path}.{name}.{operation}",
                    f"interface {name} ({merged[name].type}) has no operation {operation!r}{did_you_mean(operation, declared)}",
                )


def _evaluate_inputs(evaluator: Evaluator, interfaces: dict, context: Context, path: str, mark: Mark) -> dict:
    """Every operation's inputs (the interface's and its own), evaluated: (interface, operation) -> inputs."""
    return {
        (interface.name, operation.name): {
            name: evaluator.evaluate(
                _input_value(value),
                context,
                f"{path}.{interface.name}.{operation.name}.inputs.{name}",
                operation.mark or mark,
            )
            for name, value in {**interface.inputs, **operation.inputs}.items()
        }
        for interface in interfaces.values()
        for operation in interface.operations.values()
    }


def _input_value(value):
    """An operation input: a value, or (in types) a definition whose value/default is used."""
    if isinstance(value, dict) and "type" in value and not is_function(value):
        return value.get("value", value.get("default"))
    return value


def _requirements(node: NodeTemplate, topology: Topology, types, problems: Problems) -> None:
    raw = node.raw.get("requirements")
    path = f"topology_template.node_templates.{node.name}.requirements"
    if raw is None:
        return
    if isinstance(raw, dict):
        items = [({name: value}, mark_of(raw, name) or node.mark, f"{path}.{name}") for name, value in raw.items()]
    elif isinstance(raw, list):
        items = [(item, mark_of(raw, index) or node.mark, f"{path}[{index}]") for index, item in enumerate(raw)]
    else:
        problems.add(
            mark_of(node.raw, "requirements") or node.mark,
            path,
            f"expected a list of requirements, got {describe(raw)}",
        )
        return
    definitions = node.type.memo(
        "requirements by name", lambda t: {definition.name: definition for definition in t.merged("requirements")}
    )
    for item, mark, item_path in items:
        if not isinstance(item, dict) or len(item) != 1:
            problems.add(
                mark,
                item_path,
                f"expected a one-key mapping 'requirement: node' or 'requirement: {{node: ...}}', got {describe(item)}",
            )
            continue
        ((name, assignment),) = item.items()
        if not isinstance(name, str):
            problems.add(mark, item_path, f"a requirement name must be a string, got {describe(name)}")
            continue
        item_path = join_path(item_path, name)
        mark = mark_of(item, name) or mark
        definition = definitions.get(name)
        if definition is None:
            problems.add(
                key_mark_of(item, name) or mark,
                item_path,
                f"node type {node.type.name} has no requirement {name!r}{did_you_mean(name, definitions)}",
            )
            continue
        if assignment is None:
            assignment = {}
        elif isinstance(assignment, str):
            assignment = {"node": assignment}
        elif not isinstance(assignment, dict):
            problems.add(
                mark,
                item_path,
                f"expected a node template name or a mapping with node, capability, relationship, got {describe(assignment)}",
            )
            continue
        else:
            grammar.check_keys(assignment, grammar.REQUIREMENT_ASSIGNMENT, item_path, mark, problems)
        requirement = _requirement(node, name, definition, assignment, topology, types, item_path, mark, problems)
        if requirement is not None:
            node.requirements.append(requirement)


def _requirement(node, name, definition, assignment, topology, types, path, mark, problems) -> Requirement | None:
    if "node_filter" in assignment:
        check_node_filter(
            assignment["node_filter"], f"{path}.node_filter", mark_of(assignment, "node_filter") or mark, problems
        )
    target_name = assignment.get("node", definition.node)
    capability_name = assignment.get("capability")
    target = None
    target_type = None
    unresolved = isinstance(target_name, str) and target_name in topology.unresolved_nodes
    if isinstance(target_name, str) and target_name in topology.nodes:
        target = topology.nodes[target_name]
        if target is node:
            # Like a node hosted on itself: it would have to be deployed before itself.
            problems.add(
                mark_of(assignment, "node") or mark,
                path,
                f"a requirement of {describe(node.name)} names {describe(node.name)} itself",
            )
            return None
    elif unresolved:
        pass  # its own problem says what is wrong with it
    elif isinstance(target_name, str) and types.find("node_types", target_name) is not None:
        target_type = target_name  # abstract: any node of that type, found by the orchestrator
        # The topology's one node of that type offering the capability, if there is exactly one:
        # the orchestrator's choice made at compile time (docs/tosca.md, readings).
        wanted_type = types.canonical("node_types", target_name)
        candidates = [
            n
            for n in topology.nodes.values()
            if n is not node
            and n.type.is_a(wanted_type)
            and any(
                c.type is not None and types.capability_satisfies(c.type.name, definition.capability)
                for c in n.capabilities.values()
            )
        ]
        if len(candidates) == 1:
            target = candidates[0]
    elif target_name is not None:
        problems.add(
            mark_of(assignment, "node") or mark,
            f"{path}.node",
            f"no node template or node type named {describe(target_name)}{did_you_mean(target_name, topology.nodes)}",
        )
        return None
    required_capability = definition.capability
    if target is not None:
        if isinstance(capability_name, str) and capability_name in target.capabilities:
            capability = target.capabilities[capability_name]
            if capability.type is not None and not types.capability_satisfies(
                capability.type.name, required_capability
            ):
                problems.add(
                    mark_of(assignment, "capability") or mark,
                    f"{path}.capability",
                    f"capability {capability_name!r} of {target.name!r} is a {capability.type.name}, the requirement needs a {required_capability}",
                )
        else:
            wanted = capability_name if isinstance(capability_name, str) else required_capability
            matching = [
                c.name
                for c in target.capabilities.values()
                if c.type is not None and types.capability_satisfies(c.type.name, wanted)
            ]
            if not matching:
                offered = (
                    ", ".join(f"{c.name} ({c.type.name})" for c in target.capabilities.values() if c.type) or "none"
                )
                # Named by the template itself: kept, with a warning (tosca-parser does not check).
                types.warn(
                    mark,
                    path,
                    f"{target.name!r} ({target.type.name}) offers no capability of type {wanted} (it offers {offered}): kept as a dependency",
                )
            capability_name = matching[0] if matching else None
    relationship = assignment.get("relationship", definition.relationship)
    properties, interfaces = {}, {}
    relationship_type = None
    assigned_interfaces = {}
    if isinstance(relationship, dict):
        grammar.check_keys(relationship, grammar.RELATIONSHIP_ASSIGNMENT, f"{path}.relationship", mark, problems)
        properties = relationship.get("properties") if isinstance(relationship.get("properties"), dict) else {}
        reader = DefinitionReader(types, problems, "")
        assigned_interfaces = reader.interface_defs(
            relationship.get("interfaces"), f"{path}.relationship.interfaces", mark
        )
        relationship = relationship.get("type", definition.relationship)
    if isinstance(relationship, str):
        template = topology.relationships.get(relationship)
        if template is not None:
            relationship_type, properties, interfaces = (
                template.type,
                {**template.properties, **properties},
                template.interfaces,
            )
        elif relationship in topology.unresolved_relationships:
            unresolved = True  # its own problem says what is wrong with it
        else:
            relationship_type = types.find("relationship_types", relationship)
            if relationship_type is None:
                problems.add(
                    mark_of(assignment, "relationship") or mark,
                    f"{path}.relationship",
                    f"no relationship template or type named {relationship!r}"
                    + did_you_mean(
                        relationship, list(topology.relationships) + list(types.types["relationship_types"])
                    ),
                )
                return None
            interfaces = (
                _merge_interfaces(relationship_type.merged("interfaces"), assigned_interfaces)
                if assigned_interfaces
                else _shared_interfaces(relationship_type)
            )
    elif relationship is None:
        relationship_type = types.find("relationship_types", DEPENDS_ON if definition.name != "host" else HOSTED_ON)
    if relationship_type is not None and properties:
        types.check_properties(
            properties,
            relationship_type.merged("properties"),
            f"{path}.relationship.properties",
            mark,
            problems,
            f"relationship type {relationship_type.name}",
        )
    return Requirement(
        name,
        target,
        capability_name if isinstance(capability_name, str) else None,
        relationship_type,
        properties,
        interfaces,
        target_type,
        mark,
        unresolved=unresolved,
    )


def _hosts(topology: Topology, problems: Problems) -> None:
    for node in topology.nodes.values():
        hosts = [r.target for r in node.requirements if r.is_hosted_on and r.target is not None]
        if len(hosts) > 1:
            # IM's templates do this; the first host is where the node's operations run.
            topology.service.types.warn(
                node.mark,
                f"topology_template.node_templates.{node.name}.requirements",
                f"hosted on {len(hosts)} nodes ({', '.join(h.name for h in hosts)}): its operations run on the first",
            )
        node.host = hosts[0] if hosts else None
        # A host requirement (or one whose relationship is unknown) naming a broken template.
        node.host_unresolved = any(
            r.unresolved and (r.relationship is None or r.is_hosted_on) for r in node.requirements
        )
    # A HostedOn cycle would make HOST lookups loop; dependency cycles in general are
    # reported by the compiler with the whole cycle.
    for node in topology.nodes.values():
        seen, current = set(), node
        while current is not None and current.name not in seen:
            seen.add(current.name)
            current = current.host
        if current is node:
            problems.add(
                node.mark,
                f"topology_template.node_templates.{node.name}.requirements",
                "HostedOn cycle: " + " -> ".join(_host_chain(node)),
            )
            node.host = None


def _host_chain(node: NodeTemplate) -> list:
    chain, current = [node.name], node.host
    while current is not None and current is not node and len(chain) < 1000:
        chain.append(current.name)
        current = current.host
    return [*chain, node.name]


def _check_evaluated(node: NodeTemplate, types, path: str, problems: Problems) -> None:
    """Values that came from functions, checked against their definitions now they are known."""
    definitions = node.type.merged("properties")
    for name, raw in node.properties.items():
        if not is_function(raw) or name not in definitions:
            continue
        value = node.values.get(name)
        if value is None or contains_runtime(value):
            continue
        types.check_value(
            value,
            definitions[name].schema,
            f"{path}.properties.{name}",
            mark_of(node.properties, name) or node.mark,
            problems,
        )


def _groups(raw, topology: Topology, types, path, mark, problems, section_name, kind, allowed, members_key) -> dict:
    section = raw.get(section_name)
    result = {}
    if section is None:
        return result
    if isinstance(section, list):  # policies are a list of one-key mappings
        items = []
        for index, item in enumerate(section):
            if isinstance(item, dict) and len(item) == 1:
                ((name, value),) = item.items()
                items.append((name, value, mark_of(item, name) or mark, f"{path}.{section_name}[{index}].{name}"))
            else:
                problems.add(
                    mark_of(section, index) or mark,
                    f"{path}.{section_name}[{index}]",
                    f"expected a one-key mapping 'name: definition', got {describe(item)}",
                )
    elif isinstance(section, dict):
        section = grammar.string_keys(section, f"{path}.{section_name}", mark, problems)
        items = [
            (name, value, mark_of(section, name) or mark, f"{path}.{section_name}.{name}")
            for name, value in section.items()
        ]
    else:
        problems.add(
            mark_of(raw, section_name) or mark,
            f"{path}.{section_name}",
            f"expected a list or mapping, got {describe(section)}",
        )
        return result
    for name, value, item_mark, item_path in items:
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            problems.add(item_mark, item_path, f"expected a mapping with a type, got {describe(value)}")
            continue
        grammar.check_keys(value, allowed, item_path, item_mark, problems)
        typedef = types.find(kind, value["type"])
        if typedef is None:
            types.unknown(kind, value["type"], f"{item_path}.type", mark_of(value, "type"), problems)
            if kind == "group_types" and isinstance(name, str):
                topology.unresolved_groups.add(name)
            continue
        members = value.get(members_key) or []
        if not isinstance(members, list):
            problems.add(
                mark_of(value, members_key) or item_mark,
                f"{item_path}.{members_key}",
                f"expected a list of node templates, got {describe(members)}",
            )
            members = []
        for index, member in enumerate(members):
            known = (topology.nodes, topology.unresolved_nodes, topology.groups, topology.unresolved_groups)
            if not isinstance(member, str) or not any(member in names for names in known):
                problems.add(
                    mark_of(members, index) or item_mark,
                    f"{item_path}.{members_key}[{index}]",
                    f"no node template{' or group' if members_key == 'targets' else ''} named {describe(member)}{did_you_mean(member, topology.nodes)}",
                )
        properties = value.get("properties") if isinstance(value.get("properties"), dict) else {}
        types.check_properties(
            properties,
            typedef.merged("properties"),
            f"{item_path}.properties",
            item_mark,
            problems,
            f"{kind[:-1].replace('_', ' ')} {typedef.name}",
        )
        result[name] = (typedef, [m for m in members if isinstance(m, str)], properties)
    return result


def _outputs(raw, topology: Topology, evaluator: Evaluator, path: str, mark: Mark, problems: Problems) -> None:
    section = _mapping(raw, "outputs", path, mark, problems)
    for name, output in section.items():
        out_path, out_mark = f"{path}.outputs.{name}", mark_of(section, name) or mark
        if not isinstance(output, dict) or "value" not in output:
            problems.add(out_mark, out_path, f"expected a mapping with value (and description), got {describe(output)}")
            continue
        grammar.check_keys(output, grammar.OUTPUT, out_path, out_mark, problems)
        value = evaluator.evaluate(
            output["value"], Context(), f"{out_path}.value", mark_of(output, "value") or out_mark
        )
        description = output.get("description")
        topology.outputs[name] = Output(name, value, out_mark, description if isinstance(description, str) else "")


def check_node_filter(raw, path: str, mark: Mark, problems: Problems) -> None:
    """The shape of a node filter (3.6.5): lists of property and capability filters."""
    if not isinstance(raw, dict):
        problems.add(
            mark, path, f"expected a node filter (a mapping with properties and capabilities), got {describe(raw)}"
        )
        return
    grammar.check_keys(raw, grammar.NODE_FILTER, path, mark, problems)
    for key in ("properties", "capabilities"):
        items = raw.get(key)
        if items is None:
            continue
        item_path, item_mark = f"{path}.{key}", mark_of(raw, key) or mark
        if not isinstance(items, list):
            problems.add(
                item_mark,
                item_path,
                f"expected a list of {key[:-3] if key == 'properties' else key[:-1]} filters, got {describe(items)}",
            )
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                problems.add(
                    mark_of(items, index) or item_mark,
                    f"{item_path}[{index}]",
                    f"expected a mapping 'name: filter', got {describe(item)}",
                )


def _substituted_inputs(section: dict, substituted, inputs, path: str, mark: Mark, problems: Problems) -> None:
    """Without a properties mapping, the substituted node's properties are the topology's inputs
    of the same names (1.0-1.2; tosca-parser reads 1.3 so too): the required ones must be there."""
    if substituted is None or "properties" in section:
        return
    for name, definition in substituted.merged("properties").items():
        if definition.required and not definition.has_default and name not in inputs:
            problems.add(
                mark_of(section, "node_type") or mark,
                f"{path}.node_type",
                f"required property {name!r} of {substituted.name} has no input of that name in this topology",
            )


def imported_substitutions(service: Service, problems: Problems) -> None:
    """The substitution mappings of imported topologies (nested templates) against their inputs."""
    for raw in service.substitutions:
        section = raw.get("substitution_mappings")
        inputs = raw.get("inputs")
        if not isinstance(section, dict):
            continue
        substituted = service.types.find("node_types", section.get("node_type"))
        mark = mark_of(raw, "substitution_mappings") or Mark(service.source.path, 1, 1)
        path = "topology_template.substitution_mappings"
        _substituted_inputs(section, substituted, inputs if isinstance(inputs, dict) else {}, path, mark, problems)


def _substitution(raw, topology: Topology, types, path: str, mark: Mark, problems: Problems) -> None:
    section = raw.get("substitution_mappings")
    if section is None:
        return
    sub_path, sub_mark = f"{path}.substitution_mappings", mark_of(raw, "substitution_mappings") or mark
    if not isinstance(section, dict):
        problems.add(sub_mark, sub_path, f"expected a mapping, got {describe(section)}")
        return
    grammar.check_keys(section, grammar.SUBSTITUTION_MAPPINGS, sub_path, sub_mark, problems)
    substitution_filter = section.get("substitution_filter")
    if substitution_filter is not None:
        filter_path, filter_mark = (
            f"{sub_path}.substitution_filter",
            mark_of(section, "substitution_filter") or sub_mark,
        )
        # 1.3 writes the filter itself; tosca-parser's templates wrap it in node_filter.
        if isinstance(substitution_filter, dict) and set(substitution_filter) == {"node_filter"}:
            substitution_filter = substitution_filter["node_filter"]
            filter_path = f"{filter_path}.node_filter"
        check_node_filter(substitution_filter, filter_path, filter_mark, problems)
    node_type = section.get("node_type")
    substituted = types.find("node_types", node_type)
    _substituted_inputs(section, substituted, topology.input_defs, sub_path, sub_mark, problems)
    if node_type is not None and substituted is None:
        types.unknown(
            "node_types", node_type, f"{sub_path}.node_type", mark_of(section, "node_type") or sub_mark, problems
        )
    for key in ("capabilities", "requirements"):
        mappings = section.get(key)
        if not isinstance(mappings, dict):
            continue
        for name, target in mappings.items():
            # [node_template, capability or requirement name]
            if (
                isinstance(target, list)
                and target
                and isinstance(target[0], str)
                and target[0] not in topology.nodes
                and target[0] not in topology.unresolved_nodes
            ):
                problems.add(
                    mark_of(mappings, name) or sub_mark,
                    f"{sub_path}.{key}.{name}",
                    f"no node template named {target[0]!r}{did_you_mean(target[0], topology.nodes)}",
                )
    topology.substitution = dict(section)
