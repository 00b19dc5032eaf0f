"""The positioned loader reads YAML as PyYAML's SafeLoader does, and knows where each value is."""

import pytest
import yaml

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, Mark
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import load, overlay, position

SAMPLE = """\
name: demo
count: 3
ratio: 0.5
hex: 0x1f
octal: 017
sexagesimal: 1:30
big: 1_000
inf: .inf
flags: [yes, No, on, OFF, true, False]
nothing: ~
empty:
quoted: "yes"
version: 1.0
date: 2001-12-14
text: |
  two
  lines
anchor: &base {a: 1, b: 2}
alias: *base
merged:
  <<: *base
  b: 3
"""


def test_values_read_as_yaml_1_1_does():
    ours = load(SAMPLE, "sample.yaml")
    theirs = yaml.safe_load(SAMPLE)
    theirs["date"] = "2001-12-14"  # timestamps stay text (TOSCA checks them as text)
    assert ours == theirs
    assert ours["flags"] == [True, False, True, False, True, False]
    assert ours["quoted"] == "yes"
    assert ours["merged"] == {"a": 1, "b": 3}


def test_every_key_and_value_knows_its_line_and_column():
    data = load(SAMPLE, "sample.yaml")
    assert data.mark == Mark("sample.yaml", 1, 1)
    assert data.key_mark_of("count") == Mark("sample.yaml", 2, 1)
    assert data.mark_of("count") == Mark("sample.yaml", 2, 8)
    assert data["flags"].mark_of(3) == Mark("sample.yaml", 9, 22)
    assert data.mark_of("missing") == data.mark


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: 1\nb: 2\na: 3\n", "duplicate key (first given at line 1)", 3),
        ("a: [1, 2\n", "invalid YAML", 2),
        ("a: *nowhere\n", "unknown alias *nowhere", 1),
        ("a: !!python/object x\n", "unsupported YAML tag", 1),
        ("a: !!int ten\n", "is not a valid int", 1),
        ("a: 1\n---\nb: 2\n", "expected one YAML document", 2),
        ("? [a, b]\n: 1\n", "a mapping key must be a scalar", 1),
    ],
)
def test_bad_yaml_is_one_positioned_problem(text, message, line):
    with pytest.raises(DescriptionError) as caught:
        load(text, "bad.yaml")
    (problem,) = caught.value.problems
    assert message in problem.message
    assert (problem.mark.file, problem.mark.line) == ("bad.yaml", line)


def test_duplicate_keys_can_be_warnings_where_the_last_value_wins():
    warnings = []
    assert load("a: 1\na: 2\n", "dup.yaml", warnings) == {"a": 2}
    assert [str(w) for w in warnings] == [
        "dup.yaml:2:1: a: duplicate key (first given at line 1): the last one is used"
    ]


def test_overlay_keeps_each_keys_own_position():
    document = load("base:\n  a: 1\n  b: 2\ntop:\n  b: 3\n  c: 4\n", "one.yaml")
    merged = overlay(document["base"], document["top"], leave_out=("c",))
    assert merged == {"a": 1, "b": 3}
    assert merged.mark_of("a") == Mark("one.yaml", 2, 6)
    assert merged.mark_of("b") == Mark("one.yaml", 5, 6)


def test_positioned_plain_data_points_at_one_place():
    data = position({"x": [1, {"y": 2}]}, "given.yaml", 7, 3)
    assert data["x"][1].mark_of("y") == Mark("given.yaml", 7, 3)
