# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compiling a checked topology into an Ansible playbook and its vars.

The playbook is deterministic and readable: nodes in dependency order, then for each node
one play per lifecycle step (create, configure, start) that has an implementation, each play
on the inventory group of the Compute node hosting it (``tosca_<compute>``, made by the
orchestrator or by hand) or on localhost. Implementations are playbooks (imported), scripts
(run on the host) or roles (from the node-type -> role registry, or an implementation
written as a role name). Properties, evaluated at compile time, are in the vars file every
play reads; ``get_attribute`` and ``get_operation_output`` become Jinja lookups into what the
operations published (docs/tosca.md, "Run time").
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import zipfile

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, Mark, Problem, Problems
from ansible_collections.infn.cloud.plugins.module_utils.tosca.functions import RuntimeValue
from ansible_collections.infn.cloud.plugins.module_utils.tosca.loader import Service, load_service, mapped_path
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import (
    DEFAULT_VOLUME_GB,
    NetworkSpec,
    Operation,
    Plan,
    PlayStep,
    VolumeSpec,
    host_spec,
    input_specs,
    size_gb,
)
from ansible_collections.infn.cloud.plugins.module_utils.tosca.topology import (
    NodeTemplate,
    Topology,
    build_topology,
)
from ansible_collections.infn.cloud.plugins.module_utils.tosca.yaml_writer import Unsafe, dumps

LIFECYCLE_STEPS = ("create", "configure", "start")
TEARDOWN_STEPS = ("stop", "delete")  # run by the undeploy playbook, nodes in reverse order
# The relationship operations (Configure interface) run around the source's lifecycle steps:
# (before the step, after it), as TOSCA's deployment workflow orders them.
RELATIONSHIP_STEPS = {
    "create": ((), ()),
    "configure": (("pre_configure_source", "pre_configure_target"), ("post_configure_source", "post_configure_target")),
    "start": ((), ("add_target", "add_source")),
}
# Run on the source's hosts (add_target tells the source of its new target); the rest on the target's.
_ON_SOURCE = frozenset({"pre_configure_source", "post_configure_source", "add_target", "remove_target"})
COMPUTE_TYPES = ("tosca.nodes.Compute", "tosca.nodes.Abstract.Compute")
STORAGE_TYPES = ("tosca.nodes.Abstract.Storage", "tosca.nodes.BlockStorage", "tosca.nodes.ObjectStorage")
NETWORK_TYPES = ("tosca.nodes.network.Network", "tosca.nodes.network.Port")
PLACEMENT_TYPE = "tosca.policies.Placement"
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _literal(value) -> str:
    """A Jinja literal: a quoted string ('it\\'s'), or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{text}'"


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def dependency_order(topology: Topology, problems: Problems) -> tuple[list, list]:
    """Nodes with every requirement target before its source, and the levels of independence.

    Ties keep the template's order, so the result is deterministic. A cycle is reported as the
    cycle, at the requirement that closes it. Worked out once per topology: validating finds
    the cycles, compiling uses the order.
    """
    if topology.dependency_order is None:
        cycles = Problems()
        order, levels = _dependency_order(topology, cycles)
        topology.dependency_order = (order, levels, list(cycles))
    order, levels, cycles = topology.dependency_order
    for cycle in cycles:
        problems.add(cycle.mark, cycle.path, cycle.message)
    return order, levels


def _dependency_order(topology: Topology, problems: Problems) -> tuple[list, list]:
    nodes = list(topology.nodes.values())
    position = {node.name: index for index, node in enumerate(nodes)}
    targets = {
        node.name: sorted(
            {r.target.name for r in node.requirements if r.target is not None and r.target is not node},
            key=position.get,
        )
        for node in nodes
    }
    level: dict = {}
    state: dict = {}  # name -> 1 visiting, 2 done
    order: list = []
    for node in nodes:
        if node.name in state:
            continue
        # Iterative depth-first walk: 10,000-node chains must not hit Python's recursion limit.
        stack = [(node.name, iter(targets[node.name]))]
        state[node.name] = 1
        trail = [node.name]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                trail.pop()
                state[name] = 2
                level[name] = 1 + max(
                    (level.get(t, -1) for t in targets[name]), default=-1
                )  # a cycle's edge has no level
                order.append(name)
                continue
            if state.get(child) == 1:
                cycle = [*trail[trail.index(child) :], child]
                source = topology.nodes[name]
                requirement = next(
                    (r for r in source.requirements if r.target is not None and r.target.name == child), None
                )
                mark = (requirement.mark if requirement else None) or source.mark
                problems.add(
                    mark,
                    f"topology_template.node_templates.{name}.requirements",
                    "dependency cycle: " + " -> ".join(cycle),
                )
                continue
            if child not in state:
                state[child] = 1
                trail.append(child)
                stack.append((child, iter(targets[child])))
    levels: list = [[] for _level in range(max(level.values(), default=-1) + 1)]
    for name in order:
        levels[level[name]].append(name)
    ordered = [name for group in levels for name in sorted(group, key=position.get)]
    return ordered, [sorted(group, key=position.get) for group in levels]


def _kind(node: NodeTemplate) -> str:
    return node.type.memo("kind", _type_kind)


def _type_kind(typedef) -> str:
    if any(typedef.is_a(name) for name in COMPUTE_TYPES):
        return "compute"
    if any(typedef.is_a(name) for name in STORAGE_TYPES):
        return "storage"
    if any(typedef.is_a(name) for name in NETWORK_TYPES):
        return "network"
    return "software"


class Compiler:
    def __init__(
        self,
        topology: Topology,
        output_dir: str,
        name: str,
        role_registry: dict | None,
        import_map: dict | None,
        problems: Problems,
    ):
        self.topology = topology
        self.import_map = dict(import_map or {})
        self.output_dir = output_dir
        self.name = name
        self.registry = role_registry or {}
        self.problems = problems
        self.template_dir = os.path.dirname(os.path.abspath(topology.service.source.path))
        self.groups: dict = {}
        self._node_groups: dict = {}  # node name -> its group (or localhost)
        self._files: dict = {}  # implementation path -> whether it is a file (nodes of a type share one)
        self._relative_paths: dict = {}  # implementation path -> its path from output_dir
        self.known_files: set | None = None  # a CSAR's files, as they will be unpacked; None: the disk's
        self.state_vars: dict = {}
        self._used_names: set = set()
        self._node_data: dict = {}
        self._rendered_inputs: dict = {}  # (node, requirement or "", interface, operation) -> inputs
        self.unresolved: set = set()
        self.runtime_inputs: set = set()  # inputs without a value: extra vars of the run
        self.captured: set = set()  # nodes whose attributes or outputs something reads
        self.teardown: list = []  # the undeploy playbook's plays
        self.plays: dict = {}  # play name -> PlayStep, for the plays of the nodes' operations
        self.warnings: list = []

    def _relative(self, path: str) -> str:
        """An implementation's path from the playbook's folder (nodes of a type share one)."""
        found = self._relative_paths.get(path)
        if found is None:
            found = self._relative_paths[path] = os.path.relpath(path, self.output_dir)
        return found

    # ---- naming ----

    def _unique(self, table: dict, name: str, prefix: str) -> str:
        """A variable or group name for name: 'a-b' and 'a_b' must not share one."""
        found = table.get(name)
        if found is None:
            base = prefix + safe_name(name)
            found, index = base, 1
            while found in self._used_names:
                index += 1
                found = f"{base}_{index}"
            table[name] = found
            self._used_names.add(found)
        return found

    def group_of(self, node: NodeTemplate) -> str:
        """The inventory group (or localhost) a node's operations run on, found once per node."""
        found = self._node_groups.get(node.name)
        if found is None:
            root = node
            seen = 0
            while root.host is not None and seen < 10000:
                root, seen = root.host, seen + 1
            found = self._unique(self.groups, root.name, "tosca_") if _kind(root) == "compute" else "localhost"
            self._node_groups[node.name] = found
        return found

    def state_var(self, node_name: str) -> str:
        return self._unique(self.state_vars, node_name, "tosca_state_")

    # ---- values ----

    def host_expr(self, node: NodeTemplate) -> str:
        group = self.group_of(node)
        return "'localhost'" if group == "localhost" else f"groups['{group}'][0]"

    def jinja(self, value) -> str:
        """A Jinja expression for a value (run-time ones as lookups)."""
        if isinstance(value, RuntimeValue):
            return self._runtime_expr(value)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.jinja(item) for item in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{_literal(str(k))}: {self.jinja(v)}" for k, v in value.items()) + "}"
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        return _literal(str(value))

    def _runtime_expr(self, value: RuntimeValue) -> str:
        suffix = "".join(f"[{_literal(p)}]" for p in value.path)
        if value.kind == "input":
            name = f"tosca_input_{safe_name(value.name)}"
            self.runtime_inputs.add(value.name)
            self.unresolved.add(f"input {value.name!r}: give it at run time as -e {name}=...")
            return name + suffix
        if value.kind in ("attribute", "output"):
            node = self.topology.nodes.get(value.node)
            if node is None:  # a relationship template's attribute: no run-time store yet
                return "none"
            host = self.host_expr(node)
            if value.kind == "attribute" and not value.capability and value.name in ("tosca_name", "tosca_id"):
                return f"({_literal(node.name)}){suffix}"  # known now: the template's name
            if value.kind == "attribute" and _kind(node) == "compute" and not value.capability:
                builtin = self._compute_attribute(node, value.name, host)
                if builtin:
                    return f"({builtin}){suffix}"
            self.captured.add(node.name)
            state = f"hostvars[{host}]['{self.state_var(node.name)}']"
            if value.kind == "output":
                self.unresolved.add(
                    f"get_operation_output {node.name}.{value.interface}.{value.operation}.{value.name}"
                )
                return f"{state}['outputs']['{value.interface}.{value.operation}'][{_literal(value.name)}]{suffix}"
            name = f"{value.capability}.{value.name}" if value.capability else value.name
            self.unresolved.add(f"get_attribute {node.name}.{name}")
            definition = node.type.merged("attributes").get(value.name)
            fallback = ""
            if value.name in node.attributes:
                fallback = f" | default({self.jinja(node.attributes[value.name])})"
            elif definition is not None and definition.has_default:
                fallback = f" | default({self.jinja(definition.default)})"
            elif value.name in node.values:
                fallback = f" | default({self.jinja(node.values[value.name])})"
            return f"(({state} | default({{}}))['attributes'] | default({{}}))[{_literal(name)}]{fallback}{suffix}"
        if value.kind == "concat":
            return "([" + ", ".join(self._text_expr(p) for p in value.parts) + "] | join)"
        if value.kind == "join":
            return "([" + ", ".join(self._text_expr(p) for p in value.parts) + f"] | join({_literal(value.delimiter)}))"
        if value.kind == "token":
            text, delimiters, index = value.parts
            expr = self._text_expr(text)
            # Any of the characters splits: the others become the first, then one split.
            for delimiter in delimiters[1:]:
                expr = f"({expr}).replace({_literal(delimiter)}, {_literal(delimiters[0])})"
            return f"({expr}).split({_literal(delimiters[0])})[{index}]"
        raise ValueError(value.kind)  # pragma: no cover - every kind is handled above

    def _text_expr(self, value) -> str:
        if isinstance(value, RuntimeValue):
            return f"({self._runtime_expr(value)} | string)"
        if value is None:
            return "''"
        if isinstance(value, bool):
            return _literal("true" if value else "false")
        return _literal(str(value))

    def _compute_attribute(self, node: NodeTemplate, name: str, host: str) -> str:
        hostvars = f"hostvars[{host}]"
        # A provider sets each address as a string, or none (null) where the site has no public
        # one; an inventory may give a list. Empty or null falls back: public to private, private
        # to ansible_host, then to the inventory name.
        private = f"{hostvars}['tosca_private_address'] | default({hostvars}['ansible_host'] | default({host}), true)"
        if name == "private_address":
            address = private
        elif name == "public_address":
            address = f"{hostvars}['tosca_public_address'] | default({private}, true)"
        else:
            return ""
        # The value takes the attribute's declared type: a list for INDIGO's Compute, read as
        # [vm, public_address, 0]; a string for the normative one.
        addresses = f"[{address}] | flatten(levels=1)"
        return addresses if self._declares_list(node, name) else f"{addresses} | first"

    def _declares_list(self, node: NodeTemplate, attribute: str) -> bool:
        definition = node.type.merged("attributes").get(attribute)
        if definition is None:
            return False
        if definition.schema.type == "list":
            return True
        datatype = self.topology.service.types.find("data_types", definition.schema.type)
        return datatype is not None and datatype.primitive == "list"

    def node_data(self, node: NodeTemplate) -> dict:
        """A node's evaluated properties as file data, made once."""
        found = self._node_data.get(node.name)
        if found is None:
            found = self._node_data[node.name] = self.data(node.values)
        return found

    def data(self, value):
        """value for a YAML file Ansible reads: run-time values as {{ }}, others untemplated."""
        if isinstance(value, RuntimeValue):
            return "{{ " + self._runtime_expr(value) + " }}"
        if isinstance(value, dict):
            return {str(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value):
            return Unsafe(value)
        return value

    # ---- implementations ----

    def implementation(self, node: NodeTemplate, interface: str, operation, path: str | None = None) -> dict | None:
        """What runs an operation: {'kind': playbook|script|role|remote, ...} or None."""
        raw = operation.implementation
        primary = raw.get("primary") if isinstance(raw, dict) else raw
        if isinstance(primary, dict):  # 1.3 primary as an artifact definition
            primary = primary.get("file")
        if primary is None or primary == "":
            return None
        if not isinstance(primary, str):
            self.problems.add(
                operation.mark or node.mark,
                path or self._op_path(node, interface, operation.name),
                "expected the implementation to name a file, a URL or a role",
            )
            return None
        artifact = node.artifacts.get(primary)
        if artifact is not None:  # an artifact name (1.2+)
            primary = artifact.get("file") if isinstance(artifact, dict) else artifact
            if not isinstance(primary, str):
                return None
        if _URL.match(primary):
            mapped = mapped_path(self.import_map, primary)
            if mapped is None:
                return {"kind": "remote", "implementation": primary}
            primary = mapped
        elif _ROLE_NAME.fullmatch(primary):
            return {"kind": "role", "role": primary, "implementation": primary}
        file = primary if os.path.isabs(primary) else os.path.normpath(os.path.join(self.template_dir, primary))
        exists = self._files.get(file)
        if exists is None:
            known = self.known_files
            exists = self._files[file] = file in known if known is not None else os.path.isfile(file)
        if not exists:
            self.problems.add(
                operation.mark or node.mark,
                path or self._op_path(node, interface, operation.name),
                f"implementation {primary!r} not found (looked for {file})",
            )
            return None
        kind = "playbook" if file.endswith((".yml", ".yaml")) else "script"
        return {"kind": kind, "implementation": primary, "path": file}

    def _op_path(self, node: NodeTemplate, interface: str, operation: str) -> str:
        return f"topology_template.node_templates.{node.name}.interfaces.{interface}.{operation}.implementation"

    def registered_role(self, node: NodeTemplate):
        """The role the registry gives the node's type or its nearest ancestor."""
        typedef = node.type
        while typedef is not None:
            if typedef.name in self.registry:
                entry = self.registry[typedef.name]
                if (isinstance(entry, str) and entry) or (
                    isinstance(entry, dict)
                    and isinstance(entry.get("role"), str)
                    and isinstance(entry.get("vars", {}), dict)
                    and set(entry) <= {"role", "vars"}
                ):
                    return typedef.name, entry
                self.problems.add(
                    node.mark,
                    f"topology_template.node_templates.{node.name}.type",
                    f"role_registry[{typedef.name!r}]: expected a role name or {{role: <name>, vars: {{...}}}}, got {entry!r}",
                )
                return None, None
            typedef = typedef.parent
        return None, None

    # ---- the playbook ----

    def compile(self, order: list, levels: list) -> tuple[list, dict, list, list, list]:
        nodes = self.topology.nodes
        node_vars: dict = {}
        operations: list = []
        plays: list = []
        # Every input rendered first, so the capture plays know who is read at run time.
        rendered_inputs: dict = {}
        for name in order:
            node = nodes[name]
            node_vars[name] = {
                "type": node.type.name,
                "hosts": self.group_of(node),
                "properties": self.node_data(node),
            }
            if node.host is not None:
                node_vars[name]["host"] = node.host.name
            for key, inputs in node.operation_inputs.items():
                rendered_inputs[(name, "", *key)] = self.data(inputs)
            for requirement in node.requirements:
                for key, inputs in requirement.operation_inputs.items():
                    rendered_inputs[(name, requirement.name, *key)] = self.data(inputs)
        self._rendered_inputs = rendered_inputs
        for name in order:
            node = nodes[name]
            group = self.group_of(node)
            type_name, role = self.registered_role(node)
            standard = node.interfaces.get("Standard")
            for step in LIFECYCLE_STEPS:
                before, after = RELATIONSHIP_STEPS[step]
                self._relationship_operations(node, before, operations, plays)
                operation = standard.operations.get(step) if standard else None
                if role is not None:
                    if step != "create":  # a registered role does the whole lifecycle
                        self._relationship_operations(node, after, operations, plays)
                        continue
                    role_name = role if isinstance(role, str) else role.get("role")
                    implementation = {
                        "kind": "role",
                        "role": role_name,
                        "implementation": f"registry: {type_name} -> {role_name}",
                    }
                    inputs = dict(role.get("vars", {})) if isinstance(role, dict) else {}
                elif operation is None:
                    self._relationship_operations(node, after, operations, plays)
                    continue
                else:
                    implementation = self.implementation(node, "Standard", operation)
                    if implementation is None:
                        self._relationship_operations(node, after, operations, plays)
                        continue
                    inputs = rendered_inputs.get((name, "", "Standard", step), {})
                plays.extend(self._standard_operation(node, step, group, implementation, inputs, operations, step))
                self._relationship_operations(node, after, operations, plays)
        self.teardown = self._teardown_plays(order, operations)
        return plays, node_vars, operations

    def resources(self, order: list) -> tuple[list, list, list]:
        """(hosts, volumes, networks) a site makes for the service, in deployment order."""
        nodes = self.topology.nodes
        hosts, volumes, networks = [], [], []
        for name in order:
            node = nodes[name]
            kind = _kind(node)
            if kind == "compute":
                capabilities = {
                    c.name: self.data(
                        {
                            **{k: d.default for k, d in c.definitions.items() if d.has_default},
                            **{k: c._values.get(k, v) for k, v in c.assigned.items()},
                        }
                    )
                    for c in node.capabilities.values()
                    if c.assigned
                }
                hosts.append(host_spec(name, self.group_of(node), node.type.name, capabilities, self.node_data(node)))
            elif kind == "storage":
                properties = self.node_data(node)
                volumes.append(
                    VolumeSpec(
                        name,
                        node.type.name,
                        size_gb(properties.get("size"), DEFAULT_VOLUME_GB),
                        tuple(self._attachments(node)),
                        properties,
                    )
                )
            elif kind == "network":
                networks.append(NetworkSpec(name, node.type.name, self.node_data(node)))
        return hosts, volumes, networks

    def _attachments(self, volume: NodeTemplate):
        """(compute node, mount location or None) of each requirement that targets the volume."""
        for node in self.topology.nodes.values():
            for requirement in node.requirements:
                if requirement.target is volume:
                    location = (requirement.relationship_properties or {}).get("location")
                    yield node.name, location if isinstance(location, str) else None

    def _teardown_plays(self, order: list, operations: list) -> list:
        """Standard.stop then Standard.delete of every node, dependents first (the undeploy
        playbook); a node a registered role deploys has none."""
        plays: list = []
        for name in reversed(order):
            node = self.topology.nodes[name]
            standard = node.interfaces.get("Standard")
            if standard is None or self.registered_role(node)[1] is not None:
                continue
            for step in TEARDOWN_STEPS:
                operation = standard.operations.get(step)
                implementation = operation and self.implementation(node, "Standard", operation)
                if not implementation:
                    continue
                inputs = self._rendered_inputs.get((name, "", "Standard", step), {})
                plays.extend(
                    self._standard_operation(node, step, self.group_of(node), implementation, inputs, operations, None)
                )
        return plays

    def _standard_operation(self, node, step, group, implementation, inputs, operations, kept) -> list:
        """The plays of a node's Standard operation, recorded in operations; kept names the step
        whose published attributes and outputs are kept (None: nothing is kept)."""
        operations.append(
            Operation(node.name, "Standard", step, implementation["kind"], implementation["implementation"], group)
        )
        path = self._op_path(node, "Standard", step)
        return self._plays(node, f"{node.name}: Standard.{step}", group, implementation, inputs, kept, path)

    def _relationship_operations(self, node: NodeTemplate, names: tuple, operations: list, plays: list):
        """The Configure operations of node's relationships that run at this point of its lifecycle,
        each on the hosts of the end it configures or notifies."""
        for requirement in node.requirements:
            target = requirement.target
            interface = requirement.relationship_interfaces.get("Configure")
            if target is None or interface is None:
                continue
            for name in names:
                operation = interface.operations.get(name)
                if operation is None:
                    continue
                path = (
                    f"topology_template.node_templates.{node.name}.requirements.{requirement.name}"
                    f".relationship.interfaces.Configure.{name}"
                )
                implementation = self.implementation(node, "Configure", operation, f"{path}.implementation")
                if implementation is None:
                    continue
                on_source = name in _ON_SOURCE
                group = self.group_of(node if on_source else target)
                inputs = self._rendered_inputs.get((node.name, requirement.name, "Configure", name), {})
                relationship = f"{requirement.name} -> {target.name}"
                operations.append(
                    Operation(
                        node.name,
                        "Configure",
                        name,
                        implementation["kind"],
                        implementation["implementation"],
                        group,
                        relationship,
                    )
                )
                label = f"{node.name}: {relationship}: Configure.{name}"
                plays.extend(self._plays(node, label, group, implementation, inputs, None, path))

    def _plays(
        self,
        node: NodeTemplate,
        label: str,
        group: str,
        implementation: dict,
        inputs: dict,
        step: str | None,
        path: str,
    ) -> list:
        """The plays of one operation; step names the Standard operation whose results are kept."""
        self.plays[label] = PlayStep(node.name, step)
        common_vars = {"tosca_node": node.name, "tosca_properties": "{{ tosca_nodes[tosca_node]['properties'] }}"}
        kind = implementation["kind"]
        plays: list = []
        if kind == "playbook":
            relative = self._relative(implementation["path"])
            # Vars files of this playbook do not reach the imported one: its vars come inline.
            properties = self.node_data(node)
            # An imported play has its own name: this empty one says which operation starts
            # (in the output, and to the orchestrator that turns plays into node progress).
            plays.append({"name": label, "hosts": group, "gather_facts": False, "tasks": []})
            plays.append(
                {
                    "name": label,
                    "ansible.builtin.import_playbook": relative,
                    "vars": {"tosca_hosts": group, "tosca_node": node.name, "tosca_properties": properties, **inputs},
                }
            )
            if step and node.name in self.captured:
                keep = f"{label}: keep what it published"
                self.plays[keep] = PlayStep(node.name)
                plays.append(self._play(keep, group, [self._capture_task(node, step)]))
            return plays
        if kind == "script":
            relative = self._relative(implementation["path"])
            task = {
                "name": f"Run {os.path.basename(implementation['path'])}",
                "ansible.builtin.script": relative,
                "environment": {safe_name(k).upper(): v for k, v in inputs.items()},
            }
        elif kind == "role":
            task = {
                "name": f"Run role {implementation['role']}",
                "ansible.builtin.include_role": {"name": implementation["role"]},
                "vars": {**inputs},
            }
        else:  # remote
            message = (
                f"{label}: the implementation {implementation['implementation']} is a URL the import map does not"
                f" send to a local file; map it, or register a role for {node.type.name}"
            )
            self.warnings.append(Problem(node.mark, path, message))
            task = {"name": "Stop: the implementation is not available", "ansible.builtin.fail": {"msg": message}}
        tasks = [task]
        if step and node.name in self.captured and kind != "remote":
            tasks.append(self._capture_task(node, step))
        play = self._play(label, group, tasks)
        play["vars"] = {**common_vars}
        plays.append(play)
        return plays

    def _play(self, name: str, hosts: str, tasks: list) -> dict:
        return {
            "name": name,
            "hosts": hosts,
            "gather_facts": False,
            "vars_files": [f"{self.name}.vars.yml"],
            "tasks": tasks,
        }

    def _capture_task(self, node: NodeTemplate, step: str) -> dict:
        state = self.state_var(node.name)
        return {
            "name": f"Keep the attributes and outputs {node.name}'s Standard.{step} published",
            "ansible.builtin.set_fact": {
                state: "{{ "
                + f"{state} | default({{'attributes': {{}}, 'outputs': {{}}}}) | combine({{'attributes': tosca_set_attributes | default({{}}), "
                + f"'outputs': {{'Standard.{step}': tosca_set_outputs | default({{}})}}}}, recursive=true)"
                + " }}",
                "tosca_set_attributes": {},
                "tosca_set_outputs": {},
            },
        }


def compile_topology(
    topology: Topology, output_dir: str, name: str, role_registry: dict | None = None, import_map: dict | None = None
) -> Plan:
    """The plan of a checked topology, its files for output_dir in memory (Plan.write() writes
    them); DescriptionError on problems."""
    problems = Problems()
    order, levels = dependency_order(topology, problems)
    problems.raise_if_any()
    output_dir = os.path.abspath(output_dir)
    source = topology.service.source
    compiler = Compiler(topology, output_dir, name, role_registry, import_map, problems)
    csar = None
    if source.zip_file:
        # Implementations inside a CSAR are unpacked beside the playbook when it is written;
        # until then the archive's list says which exist.
        unpacked = os.path.join(output_dir, f"{name}.csar")
        csar = (source.zip_file, unpacked)
        with zipfile.ZipFile(source.zip_file) as archive:
            members = [member for member in archive.namelist() if not member.endswith("/")]
        compiler.template_dir = os.path.dirname(os.path.normpath(os.path.join(unpacked, source.member)))
        compiler.known_files = {os.path.normpath(os.path.join(unpacked, member)) for member in members}
    # A first pass finds which nodes are read at run time (outputs, inputs, attributes).
    outputs = {name_: compiler.data(output.value) for name_, output in topology.outputs.items()}
    for node in topology.nodes.values():
        compiler.node_data(node)
    plays, node_vars, operations = compiler.compile(order, levels)
    hosts, volumes, networks = compiler.resources(order)
    problems.raise_if_any()
    head: list = []
    if compiler.runtime_inputs:
        names = sorted(compiler.runtime_inputs)
        head.append(
            compiler._play(
                "Check the inputs given at run time",
                "localhost",
                [
                    {
                        "name": "Every input without a value or default is given as an extra var",
                        "ansible.builtin.assert": {
                            "that": [f"tosca_input_{safe_name(n)} is defined" for n in names],
                            "fail_msg": "give " + ", ".join(f"-e tosca_input_{safe_name(n)}=..." for n in names),
                            "quiet": True,
                        },
                    }
                ],
            )
        )
    tail: list = []
    if outputs:
        tail.append(
            compiler._play(
                "Outputs of the service",
                "localhost",
                [
                    {
                        "name": "Publish the outputs (ansible-runner keeps them as stats)",
                        "ansible.builtin.set_stats": {"data": {"tosca_outputs": outputs}, "per_host": False},
                    },
                    {"name": "Show the outputs", "ansible.builtin.debug": {"msg": outputs}},
                ],
            )
        )
    playbook = head + plays + tail
    if not playbook:
        playbook = [
            compiler._play(
                "Nothing to run: no node has an implementation",
                "localhost",
                [{"name": "Nothing to do", "ansible.builtin.meta": "noop"}],
            )
        ]
    header = f"# Compiled by infn.cloud.tosca from {source.path}; do not edit: compile again.\n---\n"
    teardown = compiler.teardown or [
        compiler._play(
            "Nothing to run: no node has a stop or delete operation",
            "localhost",
            [{"name": "Nothing to do", "ansible.builtin.meta": "noop"}],
        )
    ]
    files = {
        f"{name}.yml": header + dumps(playbook),
        f"{name}.vars.yml": header
        + dumps({"tosca_inputs": compiler.data(topology.input_values), "tosca_nodes": node_vars}),
        f"{name}.undeploy.yml": header + dumps(teardown),
    }
    return Plan(
        name=name,
        output_dir=output_dir,
        files=files,
        node_order=order,
        levels=levels,
        inputs=input_specs(topology, compiler.runtime_inputs),
        hosts=hosts,
        volumes=volumes,
        networks=networks,
        operations=operations,
        plays=compiler.plays,
        outputs=sorted(outputs),
        unresolved=sorted(compiler.unresolved),
        policies=[_grouping(name, entry, "targets", compiler) for name, entry in topology.policies.items()],
        groups=[_grouping(name, entry, "members", compiler) for name, entry in topology.groups.items()],
        sla_ids=_sla_ids(topology, compiler),
        warnings=topology.service.warnings + compiler.warnings,
        csar=csar,
    )


def _sla_ids(topology: Topology, compiler: Compiler) -> tuple:
    """What the placement policies ask for: an SLA id or a site name each."""
    wanted = []
    for typedef, _targets, properties in topology.policies.values():
        sla_id = (compiler.data(properties) or {}).get("sla_id")
        if typedef.is_a(PLACEMENT_TYPE) and isinstance(sla_id, str) and sla_id:
            wanted.append(sla_id)
    return tuple(wanted)


def _grouping(name: str, entry: tuple, members_key: str, compiler: Compiler) -> dict:
    """A policy or group as the plan gives it (the orchestrator reads placement from it)."""
    typedef, members, properties = entry
    return {"name": name, "type": typedef.name, members_key: members, "properties": compiler.data(properties)}


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector paused while a template is read and compiled.

    A template of 10,000 nodes makes millions of small containers, none of them garbage
    until the compile ends; the collector would scan them again and again, which makes the
    compile grow faster than the template (bench/tosca_compile). It runs as usual afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate_file(
    path: str,
    inputs: dict | None = None,
    import_map: dict | None = None,
    allow_network: bool = False,
    require_inputs: bool = False,
) -> Topology:
    """The checked topology of the template at path; DescriptionError with every problem."""
    with _collector_paused():
        service: Service = load_service(path, import_map, allow_network)
        problems = Problems()
        topology = build_topology(service, inputs, problems, require_inputs)
        problems.raise_if_any()
        dependency_order(topology, problems)
        problems.raise_if_any()
        return topology


def compile_file(
    path: str,
    output_dir: str,
    inputs: dict | None = None,
    import_map: dict | None = None,
    role_registry: dict | None = None,
    allow_network: bool = False,
    name: str | None = None,
    write: bool = True,
) -> Plan:
    """Validates the template at path and compiles it; its playbook and vars are written into
    output_dir unless write is false (Plan.write() does it later, or never: check mode)."""
    with _collector_paused():
        topology = validate_file(path, inputs, import_map, allow_network)
        if name is None:
            base = os.path.basename(topology.service.source.member or topology.service.source.path)
            name = safe_name(os.path.splitext(base)[0]) or "service"
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise DescriptionError(
                [Problem(Mark(path, 1, 1), "", f"name {name!r}: expected letters, digits, '_', '.' or '-'")]
            )
        plan = compile_topology(topology, output_dir, name, role_registry, import_map)
    if write:
        plan.write()
    return plan
