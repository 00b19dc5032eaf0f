"""Every role's public defaults are declared in its argument spec, with the same default.

AWX builds surveys and ansible-core validates role input from meta/argument_specs.yml: a
default that is missing there, or declared with another value, misleads operators.
"""

import re

import pytest
import yaml

from tests.common import REPO

ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if path.is_dir())


def load(path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_declared_with_its_value(role):
    defaults = load(REPO / "roles" / role / "defaults/main.yml")
    options = load(REPO / "roles" / role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(set(defaults) - set(options)) == [], "defaults missing from meta/argument_specs.yml"
    for name, value in defaults.items():
        assert options[name].get("default") == value, f"{name}: argument spec default differs from defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role):
    defaults = load(REPO / "roles" / role / "defaults/main.yml")
    options = load(REPO / "roles" / role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    unprefixed = [name for name in [*defaults, *options] if not name.startswith(f"{role}_")]
    assert unprefixed == []


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described(role):
    spec = load(REPO / "roles" / role / "meta/argument_specs.yml")["argument_specs"]["main"]
    assert spec.get("short_description")

    def undocumented(options, prefix=""):
        for name, option in options.items():
            if not option.get("description"):
                yield prefix + name
            yield from undocumented(option.get("options", {}), f"{prefix}{name}.")

    assert list(undocumented(spec["options"])) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_readme_that_links_to_existing_docs(role):
    readme = REPO / "roles" / role / "README.md"
    assert readme.is_file(), f"roles/{role} has no README.md"
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(f"# infn.cloud.{role}\n")
    links = re.findall(r"\]\(\.\./\.\./([^)]+)\)", text)
    assert links, "the README links to no document"
    assert [link for link in links if not (REPO / link).is_file()] == []
