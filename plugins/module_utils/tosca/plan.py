# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: what compiling a template produced, as typed data the orchestrator reads in memory.

The compiler (compiler.py) returns a :class:`Plan`; nothing downstream parses its text or reads
back its files. It says which inputs still need a value (with their type, default and
constraints), which hosts and volumes a site must make and what each needs (cores, memory,
GPUs, OS image, public address, attached volumes), which operations run in which order and
which play of the playbook belongs to which node and lifecycle step, and the outputs. The
playbook, its vars and the undeploy playbook are texts in ``files``: ``Plan.write()`` puts
them on disk, a separate step (check mode and a preview need no files).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field

from ansible_collections.infn.cloud.plugins.module_utils.tosca.values import ValueProblem, scalar_unit

GIB = 1024**3
DEFAULT_CORES = 1
DEFAULT_RAM_GB = 1.0
DEFAULT_VOLUME_GB = 1.0
# The os capability's properties that choose an image.
OS_KEYS = ("type", "distribution", "version", "architecture", "image")


@dataclass(frozen=True)
class InputSpec:
    """One input of the template, as a caller must give it."""

    name: str
    type: str
    required: bool
    has_default: bool
    default: object = None
    constraints: tuple = ()  # each clause as written: "in_range: [1, 64]"
    description: str = ""
    # The template reads it and it has neither a value nor a default: give it in inputs.
    value_needed: bool = False

    def describe(self) -> str:
        """``name (type, constraints)`` for a message."""
        details = ", ".join([self.type, *self.constraints])
        return f"{self.name} ({details})"

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default if self.has_default else None,
            "has_default": self.has_default,
            "constraints": list(self.constraints),
            "description": self.description,
            "value_needed": self.value_needed,
        }


@dataclass(frozen=True)
class HostSpec:
    """A Compute node: the host a site makes for it and what that host needs."""

    node: str
    group: str  # the inventory group its operations run on: tosca_<node>
    type: str
    cores: int = DEFAULT_CORES
    ram_gb: float = DEFAULT_RAM_GB
    gpus: int = 0
    public: bool = False  # a public address (the endpoint capability's network_name: PUBLIC)
    os: dict = field(default_factory=dict)  # the os capability's type, distribution, version, architecture, image
    capabilities: dict = field(default_factory=dict)  # as the template sets them, with defaults
    properties: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.node,
            "group": self.group,
            "type": self.type,
            "cores": self.cores,
            "ram_gb": self.ram_gb,
            "gpus": self.gpus,
            "public": self.public,
            "os": dict(self.os),
            "capabilities": self.capabilities,
            "properties": self.properties,
        }


@dataclass(frozen=True)
class VolumeSpec:
    """A block storage node: its size and the hosts it is attached to."""

    node: str
    type: str
    size_gb: float
    attachments: tuple = ()  # (compute node, mount location or None)
    properties: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.node,
            "kind": "storage",
            "type": self.type,
            "size_gb": self.size_gb,
            "attachments": [{"node": node, "location": location} for node, location in self.attachments],
            "properties": self.properties,
        }


@dataclass(frozen=True)
class NetworkSpec:
    """A network or port node (the sites' own networks serve them today)."""

    node: str
    type: str
    properties: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.node, "kind": "network", "type": self.type, "properties": self.properties}


@dataclass(frozen=True)
class Operation:
    """One operation a playbook runs, in the order it runs."""

    node: str
    interface: str  # Standard or Configure
    operation: str
    kind: str  # playbook, script, role, or remote (a URL that could not be resolved)
    implementation: str
    hosts: str  # the inventory group it runs on, or localhost
    relationship: str = ""  # "<requirement> -> <target>" for a Configure operation

    def as_dict(self) -> dict:
        found = {
            "node": self.node,
            "interface": self.interface,
            "operation": self.operation,
            "kind": self.kind,
            "implementation": self.implementation,
            "hosts": self.hosts,
        }
        if self.relationship:
            found["relationship"] = self.relationship
        return found


@dataclass(frozen=True)
class PlayStep:
    """Whose a play of the compiled playbooks is: the node, and the lifecycle step (create,
    configure, start) it runs, or None for a node's other plays."""

    node: str
    step: str | None = None


@dataclass
class Plan:
    """What compiling produced and what a run will need."""

    name: str
    output_dir: str
    files: dict  # file name in output_dir -> its text
    node_order: list
    levels: list
    inputs: list  # InputSpec, every input of the template
    hosts: list  # HostSpec, in deployment order
    volumes: list  # VolumeSpec
    networks: list  # NetworkSpec
    operations: list  # Operation, the deploy playbook's then the undeploy playbook's
    plays: dict  # play name -> PlayStep, for every play of the playbooks that belongs to a node
    outputs: list  # the outputs' names
    unresolved: list  # run-time values: attribute/output lookups and inputs to give at run time
    policies: list = field(default_factory=list)  # name, type, targets, properties (placement, scaling)
    groups: list = field(default_factory=list)  # name, type, members, properties
    sla_ids: tuple = ()  # what the placement policies ask for: an SLA id or a site name
    warnings: list = field(default_factory=list)  # Problems: the template's and the compiler's
    csar: tuple | None = None  # (archive, folder in output_dir): implementations unpacked on write

    @property
    def playbook_path(self) -> str:
        return os.path.join(self.output_dir, f"{self.name}.yml")

    @property
    def vars_path(self) -> str:
        return os.path.join(self.output_dir, f"{self.name}.vars.yml")

    @property
    def undeploy_path(self) -> str:
        return os.path.join(self.output_dir, f"{self.name}.undeploy.yml")

    @property
    def missing_inputs(self) -> list:
        """The inputs the template reads that have neither a value nor a default."""
        return [spec for spec in self.inputs if spec.value_needed]

    @property
    def teardown(self) -> bool:
        """Whether any node has a stop or delete operation (the undeploy playbook does something)."""
        return any(op.interface == "Standard" and op.operation in ("stop", "delete") for op in self.operations)

    @property
    def services(self) -> tuple:
        """The kinds of service a site's SLA must offer."""
        return ("vm",) if self.hosts else ()

    def totals(self) -> dict:
        """What the service takes from a site's quotas."""
        return {
            "instances": len(self.hosts),
            "cores": sum(h.cores for h in self.hosts),
            "ram_gb": sum(h.ram_gb for h in self.hosts),
            "gpus": sum(h.gpus for h in self.hosts),
            "public_ips": sum(1 for h in self.hosts if h.public),
            "volume_gb": sum(v.size_gb for v in self.volumes),
        }

    def write(self) -> None:
        """The files into output_dir, each replaced in one step; a CSAR's implementations
        unpacked beside them (nothing left from an earlier version)."""
        os.makedirs(self.output_dir, exist_ok=True)
        if self.csar is not None:
            archive, folder = self.csar
            shutil.rmtree(folder, ignore_errors=True)
            with zipfile.ZipFile(archive) as opened:
                opened.extractall(folder)
        for file_name, text in self.files.items():
            handle, temporary = tempfile.mkstemp(prefix=f".{file_name}.", dir=self.output_dir)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(text)
                os.chmod(temporary, 0o644)
                os.replace(temporary, os.path.join(self.output_dir, file_name))
            except BaseException:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                raise

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "playbook": self.playbook_path,
            "vars_file": self.vars_path,
            "undeploy_playbook": self.undeploy_path,
            "node_order": self.node_order,
            "levels": self.levels,
            "inputs": [spec.as_dict() for spec in self.inputs],
            "hosts": [host.as_dict() for host in self.hosts],
            "resources": [resource.as_dict() for resource in [*self.volumes, *self.networks]],
            "operations": [operation.as_dict() for operation in self.operations],
            "unresolved": self.unresolved,
            "outputs": self.outputs,
            "policies": self.policies,
            "groups": self.groups,
            "sla_ids": list(self.sla_ids),
            "warnings": [str(warning) for warning in self.warnings],
        }


def input_specs(topology, needed=None) -> list:
    """An InputSpec for each input of a checked topology. needed: the names that still need a
    value (the compiler knows which the template reads); by default every required input with
    no value given and no default."""
    if needed is None:
        needed = {
            name
            for name, definition in topology.input_defs.items()
            if definition.required and name not in topology.input_values
        }
    return [
        InputSpec(
            name=name,
            type=definition.schema.type,
            required=definition.required,
            has_default=definition.has_default,
            default=definition.default if definition.has_default else None,
            constraints=tuple(constraint.text for constraint in definition.schema.constraints),
            description=definition.description,
            value_needed=name in needed,
        )
        for name, definition in topology.input_defs.items()
    ]


def host_spec(node: str, group: str, type_name: str, capabilities: dict, properties: dict) -> HostSpec:
    """A Compute node's host from its capabilities' values (as the playbook's vars hold them:
    a value known only at run time is a Jinja string, and its default is used)."""
    size = capabilities.get("host") or {}
    endpoint = capabilities.get("endpoint") or {}
    wanted_os = {
        key: str(value)
        for key, value in (capabilities.get("os") or {}).items()
        if key in OS_KEYS and isinstance(value, (str, int, float)) and not isinstance(value, bool)
    }
    return HostSpec(
        node=node,
        group=group,
        type=type_name,
        cores=max(1, math.ceil(_number(size.get("num_cpus"), DEFAULT_CORES))),
        ram_gb=size_gb(size.get("mem_size"), DEFAULT_RAM_GB),
        gpus=int(_number(size.get("num_gpus"), 0)),
        public=str(endpoint.get("network_name", "")).upper() == "PUBLIC",
        os=wanted_os,
        capabilities=capabilities,
        properties=properties,
    )


def _number(value, default):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value


def size_gb(value, default: float) -> float:
    """A size in GiB: a scalar-unit.size, or a bare number taken as GiB; default otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return scalar_unit(value, "scalar-unit.size") / GIB
    except ValueProblem:
        return default  # a run-time value: the default size
