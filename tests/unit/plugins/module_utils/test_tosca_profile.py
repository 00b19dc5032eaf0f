# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TOSCA 1.3 normative-types profile is a closed, consistent type system.

Every name the file refers to is defined in it (or is a built-in primitive), derivations
end at a root, refinements in derived types stay compatible with what they refine,
requirements can actually be satisfied by the types they name, and defaults meet their
own constraints. A few checks pin the types templates lean on most (Compute, SoftwareComponent).
"""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.infn.cloud.plugins.module_utils.tosca.grammar import KINDS

PROFILE = Path(__file__).resolve().parents[4] / "plugins/module_utils/tosca/profiles/tosca_simple_yaml_1_3.yaml"

SECTIONS = list(KINDS)

PRIMITIVES = {
    "string",
    "integer",
    "float",
    "boolean",
    "timestamp",
    "null",
    "version",
    "range",
    "list",
    "map",
    "scalar-unit.size",
    "scalar-unit.time",
    "scalar-unit.frequency",
    "scalar-unit.bitrate",
}

# Sections whose types carry property and/or attribute definitions.
WITH_PROPERTIES = ["data_types", "capability_types", "relationship_types", "node_types", "group_types", "policy_types"]


@pytest.fixture(scope="module")
def profile():
    with PROFILE.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def ancestry(section, name):
    """The type and its ancestors, nearest first, within one section."""
    chain = []
    while name in section:
        if name in chain:
            raise AssertionError(f"derivation cycle through {name}: {chain}")
        chain.append(name)
        name = section[name].get("derived_from")
    return chain


def derives_from(section, name, ancestor):
    return ancestor in ancestry(section, name)


def effective(section, name, key):
    """A type's definitions under key (a map, or the requirements list), inherited ones included."""
    merged = {}
    for type_name in reversed(ancestry(section, name)):
        value = section[type_name].get(key) or {}
        if isinstance(value, list):
            for item in value:
                merged.update(item)
        else:
            merged.update(value)
    return merged


def effective_list(section, name, key):
    """The nearest definition of a list keyname along the derivation chain."""
    for type_name in ancestry(section, name):
        if key in section[type_name]:
            return section[type_name][key]
    return []


def requirements_of(definition):
    return [(name, req) for item in definition.get("requirements") or [] for name, req in item.items()]


def capability_type(definition):
    return definition if isinstance(definition, str) else definition["type"]


def property_like_definitions(profile):
    """(where, name, definition) for every property and attribute definition in the file."""
    for section in WITH_PROPERTIES:
        for type_name, definition in (profile.get(section) or {}).items():
            for key in ("properties", "attributes"):
                for name, prop in (definition.get(key) or {}).items():
                    yield f"{type_name} {key[:-1]} {name}", prop


# Scalar units, each in the smallest unit of its kind, so that defaults can be compared.
UNITS = {
    "scalar-unit.size": {
        "B": 1,
        "kB": 10**3,
        "KiB": 2**10,
        "MB": 10**6,
        "MiB": 2**20,
        "GB": 10**9,
        "GiB": 2**30,
        "TB": 10**12,
        "TiB": 2**40,
    },
    "scalar-unit.frequency": {"Hz": 1, "kHz": 10**3, "MHz": 10**6, "GHz": 10**9},
}


def comparable(type_name, value):
    if type_name in UNITS:
        match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]+)\s*", str(value))
        assert match, f"{value!r} is not a {type_name}"
        return float(match.group(1)) * UNITS[type_name][match.group(2)]
    return value


def satisfies(type_name, value, constraint):
    ((operator, bound),) = constraint.items()
    value = comparable(type_name, value)
    if operator == "valid_values":
        return value in [comparable(type_name, item) for item in bound]
    if operator == "in_range":
        low, high = (comparable(type_name, item) for item in bound)
        return low <= value <= high
    if operator in ("min_length", "max_length"):
        return True  # collections without a default in this file
    checks = {
        "equal": lambda a, b: a == b,
        "greater_than": lambda a, b: a > b,
        "greater_or_equal": lambda a, b: a >= b,
        "less_than": lambda a, b: a < b,
        "less_or_equal": lambda a, b: a <= b,
    }
    return checks[operator](value, comparable(type_name, bound))


def test_the_file_is_a_tosca_1_3_template_with_its_sections_in_order(profile):
    assert profile["tosca_definitions_version"] == "tosca_simple_yaml_1_3"
    assert [key for key in profile if key.endswith("_types")] == SECTIONS
    for section in SECTIONS:
        assert profile[section], f"{section} is empty"


def test_every_type_has_a_description(profile):
    missing = [
        name
        for section in SECTIONS
        for name, definition in profile[section].items()
        if not definition.get("description")
    ]
    assert missing == []


def test_every_type_name_is_defined_once_across_sections(profile):
    seen = {}
    for section in SECTIONS:
        for name in profile[section]:
            assert name not in seen, f"{name} is in both {seen[name]} and {section}"
            seen[name] = section


def test_derived_from_names_a_type_of_the_same_section(profile):
    bad = []
    for section in SECTIONS:
        types = profile[section]
        for name, definition in types.items():
            parent = definition.get("derived_from")
            if parent is None or parent in types:
                continue
            if section == "data_types" and parent in PRIMITIVES:
                continue
            bad.append(f"{section}: {name} derives from unknown {parent}")
    assert bad == []


def test_each_section_has_one_root_and_no_derivation_cycles(profile):
    for section in SECTIONS:
        types = profile[section]
        roots = set()
        for name in types:
            top = ancestry(types, name)[-1]  # raises on a cycle
            parent = types[top].get("derived_from")
            if parent is None:
                roots.add(top)
            else:
                assert section == "data_types" and parent in PRIMITIVES, f"{name} does not end at a root"
        assert len(roots) == 1 and next(iter(roots)).endswith(".Root"), f"{section} roots: {roots}"


def test_property_and_attribute_types_are_primitive_or_defined_data_types(profile):
    known = PRIMITIVES | set(profile["data_types"])
    bad = []
    for where, prop in property_like_definitions(profile):
        if prop.get("type") not in known:
            bad.append(f"{where}: type {prop.get('type')}")
        if prop.get("type") in ("list", "map"):
            entry = (prop.get("entry_schema") or {}).get("type")
            if entry not in known:
                bad.append(f"{where}: entry_schema {entry}")
    assert bad == []


def test_capability_definitions_name_defined_capability_and_node_types(profile):
    capability_types, node_types = profile["capability_types"], profile["node_types"]
    bad = []
    for name, definition in node_types.items():
        for cap_name, cap in (definition.get("capabilities") or {}).items():
            if capability_type(cap) not in capability_types:
                bad.append(f"{name}.{cap_name}: type {capability_type(cap)}")
            if isinstance(cap, dict):
                bad += [
                    f"{name}.{cap_name}: source {s}" for s in cap.get("valid_source_types", []) if s not in node_types
                ]
    assert bad == []


def test_requirements_name_defined_capability_node_and_relationship_types(profile):
    bad = []
    for name, definition in profile["node_types"].items():
        for req_name, req in requirements_of(definition):
            # capability is mandatory in a requirement definition; node and relationship are not.
            named = {"capability": "capability_types", "node": "node_types", "relationship": "relationship_types"}
            for key, section in named.items():
                if (key == "capability" or key in req) and req.get(key) not in profile[section]:
                    bad.append(f"{name}.{req_name}: {key} {req.get(key)}")
            if "occurrences" in req:
                low, high = req["occurrences"]
                if not (isinstance(low, int) and low >= 0 and (high == "UNBOUNDED" or high >= max(low, 1))):
                    bad.append(f"{name}.{req_name}: occurrences {req['occurrences']}")
    assert bad == []


def test_interfaces_and_valid_target_types_name_defined_types(profile):
    bad = []
    for section in ("node_types", "relationship_types"):
        for name, definition in profile[section].items():
            for iface_name, iface in (definition.get("interfaces") or {}).items():
                if iface["type"] not in profile["interface_types"]:
                    bad.append(f"{name}.{iface_name}: {iface['type']}")
    for name, definition in profile["relationship_types"].items():
        bad += [
            f"{name}: {t}" for t in definition.get("valid_target_types", []) if t not in profile["capability_types"]
        ]
    assert bad == []


def test_refinements_keep_a_compatible_type(profile):
    """A property, attribute or capability redefined in a derived type keeps its type or narrows it."""
    bad = []
    data_types = profile["data_types"]
    for section, key, types_of in (
        ("node_types", "capabilities", profile["capability_types"]),
        ("node_types", "properties", data_types),
        ("node_types", "attributes", data_types),
        ("capability_types", "properties", data_types),
        ("relationship_types", "properties", data_types),
    ):
        types = profile[section]
        for name, definition in types.items():
            parent = definition.get("derived_from")
            if parent is None:
                continue
            inherited = effective(types, parent, key)
            for item, refined in (definition.get(key) or {}).items():
                if item not in inherited:
                    continue
                old, new = capability_type(inherited[item]), capability_type(refined)
                if new != old and not derives_from(types_of, new, old):
                    bad.append(f"{name}.{item}: {old} refined to {new}")
    assert bad == []


def test_every_requirement_can_be_met_by_the_types_it_names(profile):
    """The relationship accepts the capability, and the named node type offers such a capability."""
    capability_types, node_types = profile["capability_types"], profile["node_types"]
    relationships = profile["relationship_types"]
    bad = []
    for name, definition in node_types.items():
        for req_name, req in requirements_of(definition):
            wanted = req["capability"]
            if "relationship" in req:
                targets = effective_list(relationships, req["relationship"], "valid_target_types")
                if targets and not any(derives_from(capability_types, wanted, t) for t in targets):
                    bad.append(f"{name}.{req_name}: {req['relationship']} does not accept {wanted}")
            if "node" in req:
                offered = effective(node_types, req["node"], "capabilities").values()
                if not any(derives_from(capability_types, capability_type(c), wanted) for c in offered):
                    bad.append(f"{name}.{req_name}: {req['node']} offers no {wanted}")
    assert bad == []


def test_defaults_meet_their_constraints_including_inherited_ones(profile):
    bad = []
    for section in WITH_PROPERTIES:
        types = profile[section]
        for name in types:
            for key in ("properties", "attributes"):
                for prop_name in types[name].get(key) or {}:
                    chain = [
                        types[t][key][prop_name]
                        for t in ancestry(types, name)
                        if prop_name in (types[t].get(key) or {})
                    ]
                    default = next((d["default"] for d in chain if "default" in d), None)
                    if default is None:
                        continue
                    prop_type = chain[0]["type"]
                    for definition in chain:
                        for constraint in definition.get("constraints", []):
                            if not satisfies(prop_type, default, constraint):
                                bad.append(f"{name}.{prop_name}: default {default!r} breaks {constraint}")
    assert bad == []


def test_port_def_is_a_constrained_integer(profile):
    port_def = profile["data_types"]["tosca.datatypes.network.PortDef"]
    assert port_def["derived_from"] == "integer"
    assert port_def["constraints"] == [{"in_range": [1, 65535]}]


def test_interface_types_list_their_operations(profile):
    interfaces = profile["interface_types"]
    assert list(interfaces["tosca.interfaces.node.lifecycle.Standard"]["operations"]) == [
        "create",
        "configure",
        "start",
        "stop",
        "delete",
    ]
    assert list(interfaces["tosca.interfaces.relationship.Configure"]["operations"]) == [
        "pre_configure_source",
        "pre_configure_target",
        "post_configure_source",
        "post_configure_target",
        "add_target",
        "add_source",
        "target_changed",
        "remove_target",
        "remove_source",
    ]


def test_compute_offers_host_os_endpoint_scalable_and_binding(profile):
    node_types, capability_types = profile["node_types"], profile["capability_types"]
    capabilities = {
        name: capability_type(c) for name, c in effective(node_types, "tosca.nodes.Compute", "capabilities").items()
    }
    assert capabilities["host"] == "tosca.capabilities.Compute"
    assert capabilities["os"] == "tosca.capabilities.OperatingSystem"
    assert capabilities["endpoint"] == "tosca.capabilities.Endpoint.Admin"
    assert capabilities["scalable"] == "tosca.capabilities.Scalable"
    assert capabilities["binding"] == "tosca.capabilities.network.Bindable"
    # Templates size their servers through the host capability and reach them through the endpoint.
    host_properties = effective(capability_types, "tosca.capabilities.Compute", "properties")
    assert {"num_cpus", "mem_size", "disk_size", "cpu_frequency"} <= set(host_properties)
    endpoint_properties = effective(capability_types, "tosca.capabilities.Endpoint.Admin", "properties")
    assert endpoint_properties["secure"]["default"] is True
    assert {"network_name", "ports", "protocol", "port"} <= set(endpoint_properties)
    attributes = effective(node_types, "tosca.nodes.Compute", "attributes")
    assert {"private_address", "public_address", "networks", "ports", "tosca_id", "state"} <= set(attributes)


def test_software_component_is_hosted_on_a_compute(profile):
    requirements = effective(profile["node_types"], "tosca.nodes.SoftwareComponent", "requirements")
    host = requirements["host"]
    assert host["relationship"] == "tosca.relationships.HostedOn"
    assert host["capability"] == "tosca.capabilities.Compute"
    assert host["node"] == "tosca.nodes.Compute"
    assert "dependency" in requirements  # inherited from tosca.nodes.Root


def test_1_0_names_are_still_defined(profile):
    # Templates written against TOSCA 1.0 use these names; 1.3 renamed or replaced them.
    assert "tosca.capabilities.Container" in profile["capability_types"]
    assert derives_from(profile["capability_types"], "tosca.capabilities.Compute", "tosca.capabilities.Container")
    for name in ("tosca.nodes.BlockStorage", "tosca.nodes.ObjectStorage"):
        assert profile["node_types"][name]["derived_from"] == "tosca.nodes.Root"
