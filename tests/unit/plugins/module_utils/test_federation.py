"""Every class of problem in a federation description is reported with its position."""

import textwrap

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError
from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation

VALID = """\
plugin: infn.cloud.federation
federation:
  name: infn-cloud
  domain: cloud.infn.it
sites:
  - name: cnaf
    coupling: backbone
    provider: static
    regions: [cnaf]
    sla:
      priority: 10
      quotas: {cores: 100, ram_gb: 256}
    hosts:
      - name: cnaf-1
        address: 192.0.2.11
        roles: [swift_storage]
  - name: recas-bari
    provider: openstack
    cloud: recas-bari
"""


def problems_of(tmp_path, text):
    path = tmp_path / "test.federation.yml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(DescriptionError) as raised:
        load_federation(str(path))
    return [str(problem).replace(f"{path}:", "") for problem in raised.value.problems]


def test_valid_description_builds_the_model(tmp_path):
    path = tmp_path / "ok.federation.yml"
    path.write_text(VALID)
    federation, options = load_federation(str(path))
    assert options == {"plugin": "infn.cloud.federation"}
    assert (federation.name, federation.domain) == ("infn-cloud", "cloud.infn.it")
    cnaf, recas = federation.sites
    assert cnaf.backbone and not recas.backbone
    assert cnaf.sla.quotas.as_dict() == {"cores": 100, "ram_gb": 256}
    assert cnaf.hosts[0].region == "cnaf"  # the site's first region by default
    assert recas.sla.priority == 100 and recas.address == {"prefer": "floating", "ipv4_only": True}


def test_wrong_type_names_path_and_position(tmp_path):
    text = VALID.replace("{cores: 100, ram_gb: 256}", "{cores: ten, ram_gb: 256}")
    assert problems_of(tmp_path, text) == ["12:23: sites[0].sla.quotas.cores: expected an integer >= 0, got 'ten'"]


def test_unknown_key_suggests_the_right_one(tmp_path):
    text = VALID.replace("    regions: [cnaf]", "    regoins: [cnaf]")
    assert problems_of(tmp_path, text) == ["9:5: sites[0].regoins: unknown key (did you mean 'regions'?)"]


def test_bad_choice_suggests_the_right_one(tmp_path):
    text = VALID.replace("provider: openstack", "provider: opnestack")
    assert problems_of(tmp_path, text) == [
        "18:15: sites[1].provider: expected one of openstack, podman, static, got 'opnestack' (did you mean 'openstack'?)"
    ]


def test_missing_required_key(tmp_path):
    text = VALID.replace("  domain: cloud.infn.it\n", "")
    assert problems_of(tmp_path, text) == ["3:3: federation.domain: required key is missing"]


def test_bad_names_and_lists(tmp_path):
    text = VALID.replace("- name: cnaf\n", "- name: CNAF!\n").replace("roles: [swift_storage]", "roles: swift_storage")
    assert problems_of(tmp_path, text) == [
        "6:11: sites[0].name: 'CNAF!' is not a site name (lowercase letters, digits, '-' and '_')",
        "16:16: sites[0].hosts[0].roles: expected a list, got 'swift_storage'",
    ]


def test_duplicates_are_reported_with_the_first_place(tmp_path):
    text = VALID + "    hosts:\n      - name: cnaf-1\n  - name: cnaf\n    provider: static\n"
    assert problems_of(tmp_path, text) == [
        "21:15: sites[1].hosts[0].name: host 'cnaf-1' is already defined at line 14",
        "22:11: sites[2].name: site 'cnaf' is already defined at line 6",
    ]


def test_duplicate_yaml_key(tmp_path):
    text = VALID.replace("    coupling: backbone\n", "    coupling: backbone\n    coupling: federated\n")
    assert problems_of(tmp_path, text) == ["8:5: coupling: duplicate key (first given at line 7)"]


def test_unknown_role_unless_declared(tmp_path):
    text = VALID.replace("roles: [swift_storage]", "roles: [swift_stroage, htcondor_schedd]")
    assert problems_of(tmp_path, text) == [
        "16:17: sites[0].hosts[0].roles[0]: unknown service role 'swift_stroage' (did you mean 'swift_storage'?);"
        " declare new ones in federation.extra_roles",
        "16:32: sites[0].hosts[0].roles[1]: unknown service role 'htcondor_schedd'; declare new ones in federation.extra_roles",
    ]
    declared = text.replace("  domain: cloud.infn.it\n", "  domain: cloud.infn.it\n  extra_roles: [htcondor_schedd]\n")
    assert problems_of(tmp_path, declared) == [
        "17:17: sites[0].hosts[0].roles[0]: unknown service role 'swift_stroage' (did you mean 'swift_storage'?);"
        " declare new ones in federation.extra_roles",
    ]


def test_region_and_addresses_checked_against_the_site(tmp_path):
    text = VALID.replace("        address: 192.0.2.11\n", "        address: 10.1.0.5\n        region: bary\n").replace(
        "    regions: [cnaf]\n", "    regions: [cnaf, bari]\n    address: {cidr: 10.0.0.0/33}\n"
    )
    assert problems_of(tmp_path, text) == [
        "10:21: sites[0].address.cidr: expected a CIDR such as 10.99.10.0/24: '10.0.0.0/33' does not appear to be an IPv4 or IPv6 network",
        "17:17: sites[0].hosts[0].region: 'bary' is not a region of the site (cnaf, bari) (did you mean 'bari'?)",
    ]


def test_provider_needs(tmp_path):
    text = (
        VALID.replace("    cloud: recas-bari\n", "")
        + "  - name: local\n    provider: podman\n    hosts:\n      - {name: l-1}\n"
    )
    assert problems_of(tmp_path, text) == [
        "17:5: sites[1].cloud: an openstack site needs the clouds.yaml cloud name",
        "19:5: sites[2].podman: a podman site needs its network and subnet",
    ]


def test_podman_address_inside_subnet(tmp_path):
    text = VALID + (
        "  - name: local\n    provider: podman\n    podman: {network: infn-x, subnet: 10.99.60.0/24}\n"
        "    hosts:\n      - {name: l-1, address: 10.99.61.5}\n"
    )
    assert problems_of(tmp_path, text) == [
        "24:30: sites[2].hosts[0].address: 10.99.61.5 is outside the site's subnet 10.99.60.0/24"
    ]


def test_all_problems_at_once_in_source_order(tmp_path):
    text = (
        VALID.replace("cores: 100", "cores: -1")
        .replace("name: infn-cloud", "name: Infn")
        .replace("provider: openstack", "provider: aws")
    )
    found = problems_of(tmp_path, text)
    assert [problem.split(":", 2)[:2] for problem in found] == [["3", "9"], ["12", "23"], ["18", "15"]]


def test_yaml_syntax_error_has_a_position(tmp_path):
    assert problems_of(tmp_path, "federation: {name: x\nsites: []\n") == [
        "2:6: invalid YAML: while parsing a flow mapping did not find expected ',' or '}'"
    ]


def test_top_level_must_be_a_mapping(tmp_path):
    assert problems_of(tmp_path, "- just\n- a list\n") == ["1:1: expected a mapping with plugin, federation and sites"]


def test_unreadable_file(tmp_path):
    with pytest.raises(DescriptionError) as raised:
        load_federation(str(tmp_path / "missing.federation.yml"))
    assert "cannot read the file" in str(raised.value)
