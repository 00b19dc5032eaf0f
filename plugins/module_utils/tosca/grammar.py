# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keynames each TOSCA construct accepts (Simple Profile 1.0-1.3, and 2.0's additions).

Unknown keys are reported with a did-you-mean; keys of later versions are accepted in earlier
ones, since templates written for one parser often carry them (docs/tosca.md).
"""

from __future__ import annotations

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    Mark,
    Problems,
    describe,
    did_you_mean,
    join_path,
)
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import key_mark_of, overlay

# The sections of type definitions, in the order the loader reads them.
KINDS = (
    "data_types",
    "artifact_types",
    "capability_types",
    "interface_types",
    "relationship_types",
    "node_types",
    "group_types",
    "policy_types",
)
SERVICE_TEMPLATE = frozenset(
    {
        "tosca_definitions_version",
        "tosca_default_namespace",
        "metadata",
        "description",
        "dsl_definitions",
        "repositories",
        "imports",
        "topology_template",
        # 1.0 puts the template's metadata at the top level.
        "template_name",
        "template_author",
        "template_version",
        # 2.0
        "profile",
        "service_template",
        "functions",
        "namespace",
        *KINDS,
    }
)
COMMON_TYPE = frozenset({"derived_from", "version", "metadata", "description"})
TYPE_KEYS = {
    "data_types": COMMON_TYPE | {"properties", "constraints", "validation", "key_schema", "entry_schema"},
    "artifact_types": COMMON_TYPE | {"mime_type", "file_ext", "properties"},
    "capability_types": COMMON_TYPE
    | {"properties", "attributes", "valid_source_types", "valid_source_node_types", "valid_relationship_types"},
    "interface_types": COMMON_TYPE | {"inputs", "operations", "notifications"},
    "relationship_types": COMMON_TYPE
    | {"properties", "attributes", "interfaces", "valid_target_types", "valid_capability_types"}
    | {"valid_target_node_types", "valid_source_node_types"},
    "node_types": COMMON_TYPE | {"properties", "attributes", "requirements", "capabilities", "interfaces", "artifacts"},
    "group_types": COMMON_TYPE | {"properties", "attributes", "members", "requirements", "capabilities", "interfaces"},
    "policy_types": COMMON_TYPE | {"properties", "targets", "triggers"},
}
# Interface types list their operations straight under the type in 1.0-1.2.
INTERFACE_KEYS = frozenset(
    {"type", "description", "inputs", "operations", "notifications", "derived_from", "version", "metadata"}
)
PROPERTY_DEFINITION = frozenset(
    {
        "type",
        "description",
        "required",
        "default",
        "value",
        "status",
        "constraints",
        "validation",
        "key_schema",
        "entry_schema",
        "metadata",
        "external-schema",
        "mapping",
    }
)
CAPABILITY_DEFINITION = frozenset(
    {
        "type",
        "description",
        "properties",
        "attributes",
        "valid_source_types",
        "valid_source_node_types",
        "valid_relationship_types",
        "occurrences",
    }
)
REQUIREMENT_DEFINITION = frozenset(
    {"capability", "node", "relationship", "occurrences", "description", "node_filter", "count_range", "allocation"}
)
OPERATION = frozenset({"implementation", "inputs", "outputs", "description"})
TOPOLOGY_TEMPLATE = frozenset(
    {
        "description",
        "inputs",
        "node_templates",
        "relationship_templates",
        "groups",
        "policies",
        "outputs",
        "substitution_mappings",
        "workflows",
    }
)
NODE_TEMPLATE = frozenset(
    {
        "type",
        "description",
        "metadata",
        "directives",
        "properties",
        "attributes",
        "requirements",
        "capabilities",
        "interfaces",
        "artifacts",
        "node_filter",
        "copy",
        "count",
    }
)
RELATIONSHIP_TEMPLATE = frozenset({"type", "description", "metadata", "properties", "attributes", "interfaces", "copy"})
REQUIREMENT_ASSIGNMENT = frozenset(
    {
        "node",
        "capability",
        "relationship",
        "node_filter",
        "occurrences",
        "count",
        "description",
        "allocation",
        "optional",
        "directives",
    }
)
RELATIONSHIP_ASSIGNMENT = frozenset({"type", "properties", "interfaces", "description"})
CAPABILITY_ASSIGNMENT = frozenset({"properties", "attributes", "occurrences", "directives"})
ARTIFACT = frozenset(
    {
        "type",
        "file",
        "repository",
        "description",
        "deploy_path",
        "artifact_version",
        "checksum",
        "checksum_algorithm",
        "properties",
    }
)
GROUP = frozenset(
    {
        "type",
        "description",
        "metadata",
        "properties",
        "attributes",
        "members",
        "interfaces",
        "capabilities",
        "requirements",
    }
)
POLICY = frozenset({"type", "description", "metadata", "properties", "targets", "triggers"})
OUTPUT = frozenset(
    {
        "description",
        "value",
        "type",
        "required",
        "status",
        "constraints",
        "entry_schema",
        "key_schema",
        "mapping",
        "validation",
        "metadata",
        "default",
    }
)
SUBSTITUTION_MAPPINGS = frozenset(
    {
        "node_type",
        "node",
        "substitution_filter",
        "properties",
        "attributes",
        "capabilities",
        "requirements",
        "interfaces",
    }
)
NODE_FILTER = frozenset({"properties", "capabilities"})
IMPORT = frozenset({"file", "url", "repository", "namespace_prefix", "namespace_uri", "namespace", "profile"})
REPOSITORY = frozenset({"description", "url", "credential"})


def check_keys(mapping, allowed: frozenset, path: str, mark: Mark, problems: Problems) -> None:
    """Reports each key of mapping that allowed lacks, with a did-you-mean."""
    for key in mapping:
        if key not in allowed:
            where = key_mark_of(mapping, key) or mark
            problems.add(where or mark, join_path(path, key), f"unknown keyname{did_you_mean(key, allowed)}")


def string_keys(mapping, path: str, mark: Mark, problems: Problems, what: str = "name"):
    """mapping without its keys that are not strings (TOSCA names are), each one reported."""
    bad = [key for key in mapping if not isinstance(key, str)]
    if not bad:
        return mapping
    for key in bad:
        problems.add(
            key_mark_of(mapping, key) or mark,
            join_path(path, str(key)),
            f"a {what} must be a string, got {describe(key)}",
        )
    return overlay({}, mapping, leave_out=bad)
