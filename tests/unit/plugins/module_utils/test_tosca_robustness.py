# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whatever template the TOSCA engine is given, it answers with problems, never a traceback.

``validate_file`` and ``compile_file`` either return or raise DescriptionError whose every
problem has a position (file, line >= 1, column >= 1) and a message. The seeds are the
templates of the project's own corpus (``tosca_corpus/valid``), always, and, when the shared
corpus (``../shared/corpus/tosca`` beside the checkout, read-only) is there, a choice of its
real templates too; hypothesis mutates them (keys deleted or renamed, values of another type, function calls that
lead nowhere, node templates renamed under their references, dependency cycles, duplicated
requirements, junk versions, YAML cut at any byte or with a garbage line, and the hostile
inputs of issue 16: recursive and exponential aliases, deep nesting, huge integers and names, a
NUL, a node depending on itself, a file importing itself) and the engine must keep the promise
on every one. Every file of the corpora, as it is, keeps it too.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
import traceback
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError
from ansible_collections.infn.cloud.plugins.module_utils.tosca.compiler import compile_file, validate_file
from tests.unit.plugins.module_utils.tosca_corpora import HAVE_SHARED, own, shared, shared_manifest

# A registry giving every node a role: compiling then gets past implementations the corpus
# does not hold (it has templates only, no playbooks or scripts).
ROLE_FOR_EVERY_NODE = {"tosca.nodes.Root": "example.tosca.noop"}

# About 25 s for the whole file on 2 CPUs when it passes (a minute or two more to shrink a
# failure down to a small case); derandomized, so CI tries the same cases every run.
SETTINGS = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _nodes(row: dict) -> int:
    return int(row["node_count"]) if row["node_count"].isdigit() else 0


# ---- the promise ----


def _misplaced(error: DescriptionError) -> list:
    """Problems of error without a position or a message; an error without problems is one too."""
    if not error.problems:
        return ["DescriptionError without problems"]
    return [repr(problem) for problem in error.problems if not _placed(problem)]


def _placed(problem) -> bool:
    mark, message = problem.mark, problem.message
    if not (isinstance(mark.file, str) and mark.file and isinstance(message, str) and message.strip()):
        return False
    return isinstance(mark.line, int) and isinstance(mark.column, int) and mark.line >= 1 and mark.column >= 1


def _keeps_promise(call):
    """What call returns, or the DescriptionError it raises once every problem is checked."""
    try:
        return call()
    except DescriptionError as error:
        bad = _misplaced(error)
        assert not bad, "problems without a position or a message:\n" + "\n".join(bad)
        return error


# ---- seeds ----


@dataclass
class Seed:
    name: str  # the template's key in its corpus
    path: Path
    import_map: dict  # where its corpus sends the URLs it imports
    text: str
    data: dict  # with relative imports turned into absolute paths of the corpus
    imports_rewritten: bool

    def __repr__(self) -> str:
        return f"Seed({self.name})"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis prints this, not the fields
        printer.text(repr(self))


def _absolute(file, folder: Path):
    """A relative import as the absolute path the engine would find it at, from the corpus."""
    if not isinstance(file, str) or not file or "://" in file or os.path.isabs(file):
        return file
    # Beside the template, then up its folders: where the engine looks (loader._resolve).
    for base in (folder, folder.parent, folder.parent.parent, folder.parent.parent.parent):
        candidate = os.path.normpath(base / file)
        if os.path.isfile(candidate):
            return candidate
    return file


def _rewrite_imports(data: dict, folder: Path) -> bool:
    """Relative imports of data made absolute (the mutated copy lives elsewhere); changed?"""
    imports = data.get("imports")
    if isinstance(imports, dict):
        items = [imports]
    elif isinstance(imports, list):
        items = imports
    else:
        return False
    changed = False
    for index, item in enumerate(items):
        if isinstance(item, str):
            items[index] = _absolute(item, folder)
            changed |= items[index] != item
            continue
        if not isinstance(item, dict):
            continue
        # {file: ...}, INDIGO's {name: url} or {name: {file: ...}}, 1.0's {name: file, ...}
        targets = [item] if ("file" in item or "url" in item) else [v for v in item.values() if isinstance(v, dict)]
        for target in targets:
            if target.get("repository") is None:
                for key in ("file", "url"):
                    if key in target:
                        new = _absolute(target[key], folder)
                        changed |= new != target[key]
                        target[key] = new
        if not ("file" in item or "url" in item):
            for key, value in item.items():
                if isinstance(value, str):
                    item[key] = _absolute(value, folder)
                    changed |= item[key] != value
    return changed


def _seed(template) -> Seed | None:
    path = template.path
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    rewritten = _rewrite_imports(data, path.parent)
    return Seed(template.key, path, template.import_map, text, data, rewritten)


def _pick_seeds() -> list:
    """The own corpus's valid templates and, from the shared corpus when it is there, ~25
    templates with node templates: xopera's examples, tosca-parser's valid test data with two
    nodes or more, and a few INDIGO examples (their custom types through its import map)."""
    rows = sorted(shared_manifest(), key=lambda row: (row["repo"], row["path"]))
    picked = [row for row in rows if row["repo"] == "xlab-si/xopera-examples" and _nodes(row) > 0]
    picked += [
        row
        for row in rows
        if row["repo"] == "openstack/tosca-parser"
        and re.fullmatch(r"samples/tests/data/[^/]+\.yaml", row["path"])
        and row["kind"] == "valid"
        and _nodes(row) >= 2
    ]
    indigo = [row for row in rows if row["repo"] == "indigo-dc/tosca-types" and row["path"].startswith("examples/")]
    picked += [row for row in indigo if _nodes(row) >= 2][:3]
    seeds = [_seed(template) for template in own("valid") + shared(picked)]
    return [seed for seed in seeds if seed is not None]


SEEDS = _pick_seeds()


def _node_templates(data) -> dict:
    topology = data.get("topology_template") if isinstance(data, dict) else None
    nodes = topology.get("node_templates") if isinstance(topology, dict) else None
    return nodes if isinstance(nodes, dict) else {}


def _node_names(data) -> list:
    """Names of the node templates that are mappings under a string name."""
    return [name for name, node in _node_templates(data).items() if isinstance(name, str) and isinstance(node, dict)]


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def _write(folder: Path, seed: Seed, content) -> Path:
    template = folder / seed.path.name
    if isinstance(content, str):
        content = content.encode("utf-8")
    template.write_bytes(content)
    return template


@cache
def _clean_seeds() -> list:
    """Seeds with two node templates or more that validate as they are (copied like the
    mutated ones): a cycle added to one of them must be what the engine reports."""
    clean = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in SEEDS:
            if len(_node_names(seed.data)) < 2:
                continue
            template = _write(Path(folder), seed, _dump(seed.data))
            try:
                validate_file(str(template), import_map=seed.import_map)
            except DescriptionError:
                continue
            clean.append(seed)
    return clean


# ---- mutations ----

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
FUNCTION_CALLS = st.sampled_from(
    [
        {"get_input": "nope"},
        {"get_input": ["nope", 0, "deeper"]},
        {"get_input": {"get_input": "nope"}},
        {"get_input": None},
        {"get_property": ["SELF", "nope"]},
        {"get_property": ["nope", "nope", "nope"]},
        {"get_property": ["HOST", 7]},
        {"get_property": "SELF"},
        {"get_attribute": ["HOST", "nope", 3]},
        {"get_attribute": ["SOURCE", "private_address"]},
        {"get_attribute": []},
        {"get_operation_output": ["SELF", "Standard", "create", "x"]},
        {"get_operation_output": ["SELF"]},
        {"get_artifact": ["SELF", "nope"]},
        {"get_nodes_of_type": "nope"},
        {"concat": [{"get_input": "nope"}, 1, None, ["x"]]},
        {"concat": "not a list"},
        {"join": [["a", {"get_input": "nope"}], 5]},
        {"join": []},
        {"token": ["a:b", ":", "x"]},
        {"token": ["a:b", "", 99]},
        {"token": [{"get_attribute": ["SELF", "nope"]}, ":", -1]},
        {"$get_input": "nope"},
        {"get_input": "nope", "get_property": ["SELF", "nope"]},
    ]
)
VALUES = {
    "none": st.none(),
    "bool": st.booleans(),
    "number": st.one_of(st.integers(), st.floats()),
    "string": st.one_of(
        st.text(max_size=12),
        st.sampled_from(
            [
                "",
                "SELF",
                "HOST",
                "SOURCE",
                "UNBOUNDED",
                "1 GB",
                "-1 MB",
                "0.5 GHz",
                "tosca.nodes.Compute",
                "{{ x }}",
                "[1, 2",
            ]
        ),
    ),
    "list": st.lists(SCALARS, max_size=3),
    "dict": st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
    "function": FUNCTION_CALLS,
}
KEYS = st.one_of(st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=6))
GARBAGE_LINES = st.one_of(
    st.sampled_from(
        [
            "\t",
            "\tkey: value",
            "  - :",
            ": :",
            "{",
            "]",
            "&a",
            "*nope",
            "!!python/object:os.system",
            "%YAML 9.9",
            "---",
            "...",
            '"',
            "'",
            "key: [1, {",
            "? ",
            "\x00",
            "\ufeff",
        ]
    ),
    st.text(alphabet=" \t:-{}[]&*!|>%@`#'\"?,.abc0\n", max_size=16),
)


def _category(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "dict"


def _places(data) -> list:
    """Every (container, key, path, depth) in data: dict keys and list indexes, at any depth."""
    places, queue, seen = [], [(data, "", 0)], set()
    while queue:
        container, where, depth = queue.pop(0)
        if id(container) in seen:  # YAML aliases share objects
            continue
        seen.add(id(container))
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            child = f"{where}.{key}".lstrip(".") if isinstance(container, dict) else f"{where}[{key}]"
            places.append((container, key, child, depth))
            if isinstance(container[key], (dict, list)):
                queue.append((container[key], child, depth + 1))
    return places


def _place(draw, places: list) -> tuple:
    """A place, every depth as likely as any other: sections and names as often as leaves."""
    depth = draw(st.sampled_from(sorted({place[3] for place in places})))
    return draw(st.sampled_from([place for place in places if place[3] == depth]))[:3]


def _rename_key(container: dict, old, new) -> None:
    items = list(container.items())
    container.clear()
    container.update((new if key == old else key, value) for key, value in items)


def _strings(value) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _delete(draw, data) -> str:
    places = _places(data)
    if not places:
        return "nothing to delete"
    container, key, where = _place(draw, places)
    del container[key]
    return f"delete {where}"


def _replace(draw, data) -> str:
    places = _places(data)
    if not places:
        return "nothing to replace"
    container, key, where = _place(draw, places)
    kind = draw(st.sampled_from(sorted(set(VALUES) - {_category(container[key])})))
    container[key] = copy.deepcopy(draw(VALUES[kind]))  # sampled values are shared: never change them
    return f"replace {where} with {container[key]!r}"


def _rename_some_key(draw, data, new) -> str:
    """Renames a key drawn from the mappings of data to new; what was done."""
    places = [place for place in _places(data) if isinstance(place[0], dict)]
    if not places:
        return "no key to rename"
    container, key, where = _place(draw, places)
    _rename_key(container, key, new)
    if isinstance(new, str) and len(new) > 60:
        return f"rename key {where} to a name of {len(new)} characters"
    return f"rename key {where} to {new!r}"


def _odd_key(draw, data) -> str:
    return _rename_some_key(draw, data, draw(KEYS))


def _rename_node(draw, data) -> str:
    nodes = _node_templates(data)
    names = [name for name in nodes if isinstance(name, str)]
    if not names:
        return _delete(draw, data)
    mentioned = set(_strings(data))
    referenced = [name for name in names if name in mentioned]  # the key itself is no string value
    old = draw(st.sampled_from(referenced or names))
    new = draw(st.one_of(st.just(old + "_renamed"), st.text(min_size=1, max_size=8)))
    _rename_key(nodes, old, new)
    return f"rename node template {old!r} to {new!r}"


def _cycle(draw, data) -> str:
    names = _node_names(data)
    if len(names) < 2:
        return _delete(draw, data)
    first = draw(st.sampled_from(names))
    second = draw(st.sampled_from([name for name in names if name != first]))
    _add_cycle(_node_templates(data), first, second)
    return f"cycle {first!r} <-> {second!r}"


def _add_cycle(nodes: dict, first: str, second: str) -> None:
    for source, target in ((first, second), (second, first)):
        requirements = nodes[source].get("requirements")
        if not isinstance(requirements, list):
            requirements = nodes[source]["requirements"] = []
        requirements.append({"dependency": target})


def _duplicate_requirements(draw, data) -> str:
    nodes = _node_templates(data)
    names = [
        name
        for name, node in nodes.items()
        if isinstance(node, dict) and isinstance(node.get("requirements"), list) and node["requirements"]
    ]
    if not names:
        return _delete(draw, data)
    name = draw(st.sampled_from(names))
    nodes[name]["requirements"] = nodes[name]["requirements"] + copy.deepcopy(nodes[name]["requirements"])
    return f"duplicate the requirements of {name!r}"


def _junk_version(draw, data) -> str:
    junk = draw(
        st.one_of(
            st.sampled_from(
                ["tosca_simple_yaml_1_4", "tosca_2_0", "TOSCA_SIMPLE_YAML_1_3", "tosca_simple_yaml_1_3 ", "1.3", ""]
            ),
            st.text(max_size=12),
            SCALARS,
            st.lists(st.just("tosca_simple_yaml_1_3"), max_size=2),
        )
    )
    data["tosca_definitions_version"] = junk
    return f"tosca_definitions_version: {junk!r}"


def _laughs(levels: int = 9, width: int = 10) -> str:
    """A billion laughs: each level an anchored list of width aliases to the one before."""
    parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
    parts += [f"&a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]" for level in range(1, levels + 1)]
    return "[" + ", ".join(parts) + "]"


# YAML text that safe_dump cannot write: a value is set to a marker, replaced after the dump.
HOSTILE_VALUES = [
    "&r [*r]",
    "&r {a: *r}",
    "[" * 100 + "]" * 100,
    "1" * 5000,
    "!!int " + "1" * 5000,
    _laughs(),
    "'a\x00b'",
    "&s {k: v}",
]
_HOSTILE = re.compile(r"hostile-value-(\d+)")


def _hostile_value(draw, data) -> str:
    places = _places(data)
    if not places:
        return "no place for a hostile value"
    container, key, where = _place(draw, places)
    index = draw(st.integers(0, len(HOSTILE_VALUES) - 1))
    container[key] = f"hostile-value-{index}"
    return f"replace {where} with {HOSTILE_VALUES[index][:40]!r}"


def _hostile_name(draw, data) -> str:
    # Longer than diagnostics.LONG_NAME: no did-you-mean, shortened in messages.
    return _rename_some_key(draw, data, draw(st.sampled_from(["tosca.nodes.Compute", "x", "get_input"])) + "x" * 3000)


def _self_dependency(draw, data) -> str:
    names = _node_names(data)
    if not names:
        return _delete(draw, data)
    name = draw(st.sampled_from(names))
    node = _node_templates(data)[name]
    if not isinstance(node.get("requirements"), list):
        node["requirements"] = []
    node["requirements"].append({draw(st.sampled_from(["dependency", "host"])): name})
    return f"{name!r} depends on itself"


_SELF = "this-very-file"


def _import_self(draw, data) -> str:
    # The mutated copy is written under the seed's file name (_write): this imports itself.
    if not isinstance(data.get("imports"), list):
        data["imports"] = []
    data["imports"].append(draw(st.sampled_from([_SELF, {"file": _SELF}])))
    return "import itself"


def _hostile_text(text: str, seed: Seed) -> str:
    """The dumped text with the markers of hostile values and of the file itself replaced."""
    text = text.replace(_SELF, seed.path.name)
    return _HOSTILE.sub(lambda match: HOSTILE_VALUES[int(match.group(1))], text)


DATA_MUTATIONS = {
    "delete": _delete,
    "replace": _replace,
    "odd_key": _odd_key,
    "rename_node": _rename_node,
    "cycle": _cycle,
    "duplicate_requirements": _duplicate_requirements,
    "junk_version": _junk_version,
    "hostile_value": _hostile_value,
    "hostile_name": _hostile_name,
    "self_dependency": _self_dependency,
    "import_self": _import_self,
}


def _text_base(seed: Seed) -> str:
    # As written when it has no relative import (one would not resolve from the copy), else dumped.
    return _dump(seed.data) if seed.imports_rewritten else seed.text


def _truncate(draw, seed: Seed) -> tuple:
    raw = _text_base(seed).encode("utf-8")
    cut = draw(st.integers(0, len(raw)))
    return f"cut at byte {cut} of {len(raw)}", raw[:cut]


def _garble(draw, seed: Seed) -> tuple:
    lines = _text_base(seed).split("\n")
    index = draw(st.integers(0, len(lines)))
    if index < len(lines) and draw(st.booleans()):
        lines[index] = "\t" + lines[index]
        return f"tab before line {index + 1}", "\n".join(lines)
    line = draw(GARBAGE_LINES)
    lines.insert(index, line)
    return f"line {index + 1} inserted: {line!r}", "\n".join(lines)


@dataclass
class Case:
    seed: Seed
    mutations: list
    content: bytes
    inputs: dict | None
    registry: dict | None

    def __repr__(self) -> str:
        return f"Case({self.seed.name}: {'; '.join(self.mutations)}; inputs={self.inputs!r}, registry={self.registry is not None})"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


@st.composite
def cases(draw) -> Case:
    seed = draw(st.sampled_from(SEEDS))
    if draw(st.integers(0, 3)) == 0:  # a quarter of the cases break the YAML text
        mutate = draw(st.sampled_from([_truncate, _garble]))
        description, content = mutate(draw, seed)
        mutations = [description]
    else:
        data = copy.deepcopy(seed.data)
        names = draw(st.lists(st.sampled_from(sorted(DATA_MUTATIONS)), min_size=1, max_size=3))
        mutations = [DATA_MUTATIONS[name](draw, data) for name in names]
        content = _hostile_text(_dump(data), seed)
    if isinstance(content, str):
        content = content.encode("utf-8")
    topology = seed.data.get("topology_template")
    declared = topology.get("inputs") if isinstance(topology, dict) else None
    input_names = sorted(name for name in declared if isinstance(name, str)) if isinstance(declared, dict) else []
    inputs = draw(
        st.one_of(
            st.none(),
            st.dictionaries(st.sampled_from([*input_names, "nope"]), st.one_of(*VALUES.values()), max_size=3),
        )
    )
    registry = draw(st.sampled_from([None, ROLE_FOR_EVERY_NODE]))
    return Case(seed, mutations, content, copy.deepcopy(inputs), copy.deepcopy(registry))


# Small inputs the mutations above once broke the engine with (tracebacks, not problems).
CRASHERS = {
    "version_is_a_list": "tosca_definitions_version: []\n",
    "node_type_named_null": (
        "tosca_definitions_version: tosca_simple_yaml_1_3\nnode_types:\n  null:\n    derived_from: tosca.nodes.Root\n"
    ),
    "node_type_named_3": (
        "tosca_definitions_version: tosca_simple_yaml_1_3\nnode_types:\n  3:\n    derived_from: tosca.nodes.Root\n"
    ),
    "interface_given_as_a_type_name": (
        "tosca_definitions_version: tosca_simple_yaml_1_3\n"
        "node_types:\n  n:\n    derived_from: tosca.nodes.Root\n    interfaces:\n      Standard: typ\n"
    ),
    "yaml_cut_in_an_interface": (
        "tosca_definitions_version: tosca_simple_yaml_1_3\nnode_types:\n  n:\n    interfaces:\n      S:\n        t"
    ),
    "output_named_null": (
        "tosca_definitions_version: tosca_simple_yaml_1_3\n"
        "topology_template:\n  outputs:\n    null:\n      value: 1\n    b:\n      value: 2\n"
    ),
    "node_template_named_1": (
        "tosca_definitions_version: tosca_simple_yaml_1_3\n"
        "topology_template:\n  node_templates:\n    1:\n      type: tosca.nodes.Compute\n"
    ),
}


# ---- the tests ----


def test_the_seeds_are_there():
    assert len(SEEDS) >= (5 + 20 if HAVE_SHARED else 5), [seed.name for seed in SEEDS]
    assert len(_clean_seeds()) >= 5, "the cycle test has too few seeds that validate as they are to break"


@pytest.mark.parametrize("text", CRASHERS.values(), ids=CRASHERS.keys())
def test_an_input_that_once_crashed_the_engine_gets_problems(text, tmp_path):
    template = tmp_path / "service.yaml"
    template.write_text(text, encoding="utf-8")
    result = _keeps_promise(lambda: validate_file(str(template)))
    if not isinstance(result, DescriptionError):
        _keeps_promise(lambda: compile_file(str(template), str(tmp_path / "out")))


@SETTINGS
@given(case=cases())
def test_a_mutated_template_gets_problems_never_a_traceback(case, tmp_path):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    template = _write(folder, case.seed, case.content)
    note(case.content.decode("utf-8", "replace"))
    import_map = case.seed.import_map
    result = _keeps_promise(lambda: validate_file(str(template), inputs=case.inputs, import_map=import_map))
    if isinstance(result, DescriptionError):
        return  # compile_file begins with this very validation: it raises the same
    plan = _keeps_promise(
        lambda: compile_file(
            str(template), str(folder / "out"), inputs=case.inputs, import_map=import_map, role_registry=case.registry
        )
    )
    if not isinstance(plan, DescriptionError):
        assert os.path.isfile(plan.playbook_path) and os.path.isfile(plan.vars_path)


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_a_dependency_cycle_is_reported_naming_both_nodes(data, tmp_path):
    seed = data.draw(st.sampled_from(_clean_seeds()), label="seed")
    nodes_of_seed = _node_names(seed.data)
    first = data.draw(st.sampled_from(nodes_of_seed), label="first")
    second = data.draw(st.sampled_from([name for name in nodes_of_seed if name != first]), label="second")
    mutated = copy.deepcopy(seed.data)
    _add_cycle(_node_templates(mutated), first, second)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    template = _write(folder, seed, _dump(mutated))
    for call in (
        lambda: validate_file(str(template), import_map=seed.import_map),
        lambda: compile_file(
            str(template), str(folder / "out"), import_map=seed.import_map, role_registry=ROLE_FOR_EVERY_NODE
        ),
    ):
        error = _keeps_promise(call)
        assert isinstance(error, DescriptionError), f"{seed.name}: a cycle between {first!r} and {second!r} passed"
        cycles = [p for p in error.problems if "cycle" in p.message and first in p.message and second in p.message]
        assert cycles, f"{seed.name}: no cycle problem naming {first!r} and {second!r} in:\n{error}"


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_a_mistyped_node_type_is_one_problem(data, tmp_path):
    # One mistake, one problem: the templates naming the mistyped one add none of their own.
    seed = data.draw(st.sampled_from(_clean_seeds()), label="seed")
    name = data.draw(st.sampled_from(_node_names(seed.data)), label="node")
    mutated = copy.deepcopy(seed.data)
    node = _node_templates(mutated)[name]
    if not isinstance(node.get("type"), str):
        return  # a copy of another template: no type of its own to mistype
    node["type"] += "x"
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    template = _write(folder, seed, _dump(mutated))
    error = _keeps_promise(lambda: validate_file(str(template), import_map=seed.import_map))
    assert isinstance(error, DescriptionError), f"{seed.name}: the mistyped type of {name!r} passed"
    assert [p.path for p in error.problems] == [f"topology_template.node_templates.{name}.type"], str(error)


# Refused by the reader wherever they are (HOSTILE_VALUES but the harmless last one).
REFUSED = {
    0: "is inside its own anchor",
    1: "is inside its own anchor",
    2: "nested collections",
    3: "digits is too long",
    4: "digits is too long",
    5: "the document expands to more than",
    6: "character U+0000 is not allowed",
}


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_a_hostile_value_anywhere_is_its_one_problem(data, tmp_path):
    seed = data.draw(st.sampled_from(_clean_seeds()), label="seed")
    mutated = copy.deepcopy(seed.data)
    index = data.draw(st.sampled_from(sorted(REFUSED)), label="hostile")
    container, key, where = _place(data.draw, _places(mutated))
    container[key] = f"hostile-value-{index}"
    note(f"{where}: {HOSTILE_VALUES[index][:60]!r}")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    template = _write(folder, seed, _hostile_text(_dump(mutated), seed))
    error = _keeps_promise(lambda: validate_file(str(template), import_map=seed.import_map))
    assert isinstance(error, DescriptionError), f"{seed.name}: {where} passed"
    assert len(error.problems) == 1 and REFUSED[index] in error.problems[0].message, str(error)[:2000]


def test_every_corpus_template_gets_problems_never_a_traceback():
    crashes = []
    own_templates, shared_templates = own(""), shared(shared_manifest())
    assert len(own_templates) >= 15 and (len(shared_templates) > 300 or not HAVE_SHARED)
    for template in own_templates + shared_templates:
        path = template.path
        try:
            validate_file(str(path), import_map=template.import_map)
        except DescriptionError as error:
            crashes += [f"{path}: {problem}" for problem in _misplaced(error)]
        except Exception as error:
            tail = "".join(traceback.format_exception(error)[-3:])
            crashes.append(f"{path}: {type(error).__name__}: {error}\n{tail}")
    total = len(own_templates) + len(shared_templates)
    assert not crashes, f"{len(crashes)} of {total} corpus files crash the engine:\n" + "\n".join(crashes)
