"""Hostile input (issue 16): each case ends in one positioned problem, in bounded time and memory.

The bounds are checked by outcome: before the limits each of these inputs gave a traceback
(RecursionError, ValueError), ran until killed, or took gigabytes; now each is one problem with
file:line:column and a field path.
"""

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError
from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import MAX_DEPTH
from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file, validate_file

HEADER = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
# component_version of a SoftwareComponent hosted on a Compute: the reproducers.
COMPONENT = """\
topology_template:
  node_templates:
    server:
      type: tosca.nodes.Compute
    app:
      type: tosca.nodes.SoftwareComponent
      properties:
        component_version: {value}
      requirements:
        - host: server
"""
VALUE_LINE, VALUE_COLUMN = 9, 28  # where {value} starts
VALUE_PATH = "topology_template.node_templates.app.properties.component_version"


def _laughs(levels: int = 9, width: int = 10) -> str:
    """A billion laughs: each level an anchored list of width aliases to the one before."""
    parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
    parts += [f"&a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]" for level in range(1, levels + 1)]
    return "[" + ", ".join(parts) + "]"


def write(tmp_path, text: str, name: str = "service.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_problem(path: str, **kwargs) -> str:
    """The one problem validate_file reports for path, as printed."""
    with pytest.raises(DescriptionError) as caught:
        validate_file(path, **kwargs)
    problems = [str(problem) for problem in caught.value.problems]
    assert len(problems) == 1, problems
    return problems[0]


@pytest.mark.parametrize(
    ("value", "where", "message"),
    [
        pytest.param("&r [*r]", "[0]", "alias *r is inside its own anchor", id="recursive_list"),
        pytest.param("&r {a: *r}", ".a", "alias *r is inside its own anchor", id="recursive_mapping"),
        pytest.param(
            "[" * 600 + "]" * 600, "[0]" * (MAX_DEPTH - 5), f"more than {MAX_DEPTH} nested collections", id="deep_600"
        ),
        pytest.param("1" * 5000, "", "an integer of 5,000 digits is too long (at most 1,000)", id="integer_5000"),
        pytest.param("!!int " + "1" * 5000, "", "an integer of 5,000 digits is too long", id="tagged_integer"),
        pytest.param(_laughs(), "[5][7]", "the document expands to more than 1,000,000 values", id="billion_laughs"),
    ],
)
def test_a_hostile_property_value_is_one_positioned_problem(tmp_path, value, where, message):
    path = write(tmp_path, HEADER + COMPONENT.format(value=value))
    problem = one_problem(path)
    assert problem.startswith(f"{path}:{VALUE_LINE}:"), problem
    assert f": {VALUE_PATH}{where}: {message}" in problem, problem


def test_nesting_up_to_the_limit_is_read_and_checked_without_a_traceback(tmp_path):
    # Five mappings hold the property (the document, topology_template, node_templates, app,
    # properties): the deepest value the limit lets through.
    depth = MAX_DEPTH - 5
    path = write(tmp_path, HEADER + COMPONENT.format(value="[" * depth + "]" * depth))
    assert one_problem(path).endswith(f"{VALUE_PATH}: expected a version such as 1.2 or 2.0.1, got a list")
    inputs = "  inputs:\n    deep:\n      type: list\n      default: " + "[" * depth + "]" * depth + "\n"
    path = write(
        tmp_path,
        HEADER + COMPONENT.format(value="'1.0'") + inputs + "  outputs:\n    deep:\n      value: { get_input: deep }\n",
    )
    plan = compile_file(path, str(tmp_path / "out"), role_registry={"tosca.nodes.Root": "example.tosca.noop"})
    assert plan.playbook_path


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        pytest.param(
            HEADER + "topology_template:\n  outputs:\n    o:\n      value: " + _laughs() + "\n",
            5,
            "topology_template.outputs.o.value[5][7]",
            id="output",
        ),
        pytest.param(HEADER + "description: " + _laughs() + "\n", 2, "description[5][7]", id="description"),
    ],
)
def test_an_alias_bomb_anywhere_is_refused_while_reading(tmp_path, text, line, path):
    template = write(tmp_path, text)
    problem = one_problem(template)
    assert problem.startswith(f"{template}:{line}:") and f": {path}: the document expands to more than" in problem


def test_a_huge_type_name_is_shortened_and_gets_no_did_you_mean(tmp_path):
    # 10 MiB: difflib's did-you-mean over it took gigabytes, and the message was as long.
    name = "tosca.nodes.Compute" + "x" * (10 * 1024 * 1024)
    path = write(tmp_path, HEADER + f"topology_template:\n  node_templates:\n    a:\n      type: {name}\n")
    problem = one_problem(path)
    assert problem.startswith(f"{path}:5:13: topology_template.node_templates.a.type: unknown node type 'tosca.nodes.")
    assert problem.endswith("x\u2026'") and len(problem) < len(path) + 150, problem


def test_a_huge_property_name_is_shortened_in_the_path_and_the_message(tmp_path):
    name = "p" * (10 * 1024 * 1024)
    # An implicit key is at most 1,024 characters: an explicit one (?) has no limit.
    text = COMPONENT.format(value="'1.0'").replace(
        "        component_version: '1.0'\n", f"        ? {name}\n        : 1\n"
    )
    path = write(tmp_path, HEADER + text)
    problem = one_problem(path)
    short = "p" * 59 + "\u2026"
    assert f"topology_template.node_templates.app.properties.{short}: " in problem, problem[:300]
    assert problem.endswith(f"has no property '{short}'") and len(problem) < len(path) + 300


def test_a_nul_byte_is_one_line_at_its_real_line_and_column(tmp_path):
    path = write(tmp_path, HEADER + COMPONENT.format(value="'é\x00'"))
    assert one_problem(path) == (
        f"{path}:{VALUE_LINE}:{VALUE_COLUMN + 2}: invalid YAML: character U+0000 is not allowed"
        " (control characters are not allowed)"
    )


def test_a_requirement_on_its_own_node_is_refused(tmp_path):
    text = HEADER + COMPONENT.format(value="'1.0'") + "        - dependency: app\n"
    path = write(tmp_path, text)
    assert one_problem(path) == (
        f"{path}:12:23: topology_template.node_templates.app.requirements[1].dependency:"
        " a requirement of 'app' names 'app' itself"
    )
    path = write(tmp_path, HEADER + COMPONENT.format(value="'1.0'").replace("host: server", "host: app"))
    assert one_problem(path).endswith("requirements[0].host: a requirement of 'app' names 'app' itself")


def test_import_cycles_are_refused_with_the_chain(tmp_path):
    own = write(tmp_path, HEADER + "imports:\n  - own.yaml\n", "own.yaml")
    assert one_problem(own) == f"{own}:3:5: imports[0]: import cycle: {own} -> {own}"
    first = write(tmp_path, HEADER + "imports:\n  - second.yaml\n", "first.yaml")
    second = write(tmp_path, HEADER + "imports:\n  - first.yaml\n", "second.yaml")
    assert one_problem(first) == f"{second}:3:5: imports[0]: import cycle: {first} -> {second} -> {first}"


def test_the_federation_description_has_the_same_bounds(tmp_path):
    path = tmp_path / "hostile.federation.yml"
    path.write_text("plugin: infn.cloud.federation\nfederation:\n  name: " + _laughs() + "\n", encoding="utf-8")
    with pytest.raises(DescriptionError) as caught:
        load_federation(str(path))
    problems = [str(problem) for problem in caught.value.problems]
    assert len(problems) == 1 and problems[0].startswith(f"{path}:3:"), problems
    assert ": federation.name[5][7]: the document expands to more than 1,000,000 values" in problems[0]
