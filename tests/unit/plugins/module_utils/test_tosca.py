"""The TOSCA engine, feature by feature: what it accepts, what it rejects and how it says so."""

import textwrap
import zipfile

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError
from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file, validate_file
from ansible_collections.infn.cloud.plugins.module_utils.tosca.functions import RuntimeValue
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import InputSpec, Operation, PlayStep, VolumeSpec
from tests.unit.plugins.module_utils.tosca_corpora import OWN_IMPORT_MAP, addresses_as_declared

HEADER = "tosca_definitions_version: tosca_simple_yaml_1_3\n"

APP_TYPES = """\
node_types:
  example.App:
    derived_from: tosca.nodes.SoftwareComponent
    properties:
      port:
        type: integer
        default: 80
        constraints:
          - in_range: [1, 65535]
      banner:
        type: string
        required: false
      sizes:
        type: map
        required: false
        entry_schema: scalar-unit.size
    attributes:
      url:
        type: string
    interfaces:
      Standard:
        create: create.yml
"""


def write(tmp_path, text: str, name: str = "service.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def problems_of(path: str, **kwargs) -> list[str]:
    with pytest.raises(DescriptionError) as caught:
        validate_file(path, **kwargs)
    return [str(problem) for problem in caught.value.problems]


def service(tmp_path, topology: str, types: str = APP_TYPES) -> str:
    (tmp_path / "create.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    return write(tmp_path, HEADER + types + "topology_template:\n" + textwrap.indent(textwrap.dedent(topology), "  "))


SERVER_AND_APP = """\
inputs:
  cpus:
    type: integer
    default: 2
    constraints:
      - in_range: [1, 64]
  port:
    type: integer
node_templates:
  server:
    type: tosca.nodes.Compute
    capabilities:
      host:
        properties:
          num_cpus: { get_input: cpus }
          mem_size: 2 GB
  app:
    type: example.App
    properties:
      port: { get_input: port }
      banner: { concat: ["app on ", { get_property: [server, host, num_cpus] }, " cpus"] }
    requirements:
      - host: server
outputs:
  address:
    value: { get_attribute: [server, private_address] }
  url:
    value: { concat: ["http://", { get_attribute: [app, url] }, "/"] }
"""


def test_a_valid_topology_is_checked_and_evaluated(tmp_path):
    topology = validate_file(service(tmp_path, SERVER_AND_APP), inputs={"port": 8080})
    app = topology.nodes["app"]
    assert app.host is topology.nodes["server"]
    assert app.values == {"port": 8080, "banner": "app on 2 cpus"}
    assert topology.outputs["address"].value == RuntimeValue("attribute", node="server", name="private_address")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("tosca_simple_yaml_1_0", None),
        ("tosca_simple_yaml_1_2", None),
        ("tosca_simple_yaml_1_10", "unsupported version 'tosca_simple_yaml_1_10'"),
        ("tosca_simple_profile_for_nfv_1_0_0", "unsupported version"),
    ],
)
def test_versions(tmp_path, version, expected):
    path = write(tmp_path, f"tosca_definitions_version: {version}\n")
    if expected is None:
        assert validate_file(path).service.version == version.rsplit("_", 2)[-2] + "." + version.rsplit("_", 1)[-1]
    else:
        (problem,) = problems_of(path)
        assert problem.startswith(f"{path}:1:28: tosca_definitions_version: {expected}")


def test_every_problem_at_once_with_position_and_did_you_mean(tmp_path):
    path = service(
        tmp_path,
        """\
        node_templates:
          server:
            type: tosca.nodes.Compte
          app:
            type: example.App
            properties:
              port: 70000
              colour: blue
            requirements:
              - hots: server
          db:
            type: tosca.nodes.Database
            properties:
              name: { get_input: nmae }
        """,
    )
    found = problems_of(path)
    assert found == [
        f"{path}:27:13: topology_template.node_templates.server.type: unknown node type 'tosca.nodes.Compte' (did you mean 'tosca.nodes.Compute'?)",
        f"{path}:31:15: topology_template.node_templates.app.properties.port: 70000 does not meet the constraint in_range: [1, 65535]",
        f"{path}:32:9: topology_template.node_templates.app.properties.colour: node type example.App has no property 'colour'",
        f"{path}:34:11: topology_template.node_templates.app.requirements[0].hots: node type example.App has no requirement 'hots' (did you mean 'host'?)",
        f"{path}:38:28: topology_template.node_templates.db.properties.name.get_input: no input named 'nmae'",
    ]


def test_a_template_of_unknown_type_is_one_problem_not_one_per_reference(tmp_path):
    # One mistake, one problem: the node template, relationship template and group whose type
    # is mistyped still exist, so what names them (requirements, functions, groups, policies,
    # outputs, substitution mappings) raises no "no node template named ..." of its own.
    path = service(
        tmp_path,
        """\
        node_templates:
          server:
            type: tosca.nodes.Compte
          app:
            type: example.App
            properties:
              banner: { get_attribute: [server, private_address] }
            requirements:
              - host: server
          db:
            type: tosca.nodes.SoftwareComponent
            properties:
              component_version: { get_attribute: [HOST, private_address] }
            requirements:
              - host:
                  node: server
                  relationship: on_server
          other:
            type: tosca.nodes.Compute
          cache:
            type: tosca.nodes.SoftwareComponent
            properties:
              component_version: { get_attribute: [HOST, private_address] }
            requirements:
              - host:
                  node: other
                  relationship: on_server
        relationship_templates:
          on_server:
            type: tosca.relationships.HostdOn
        groups:
          servers:
            type: tosca.groups.Rot
            members: [server]
          apps:
            type: tosca.groups.Root
            members: [server, app]
        policies:
          - spread:
              type: tosca.policies.Placement
              targets: [server, servers]
          - later:
              type: tosca.policies.Placemnt
              targets: [app]
        outputs:
          address:
            value: { get_attribute: [server, public_address] }
          port:
            value: { get_property: [server, host, num_cpus] }
        substitution_mappings:
          node_type: tosca.nodes.Root
          capabilities:
            feature: [server, feature]
        """,
    )
    found = problems_of(path)
    assert found == [
        f"{path}:27:13: topology_template.node_templates.server.type: unknown node type 'tosca.nodes.Compte' (did you mean 'tosca.nodes.Compute'?)",
        f"{path}:54:13: topology_template.relationship_templates.on_server.type:"
        " unknown relationship type 'tosca.relationships.HostdOn' (did you mean 'tosca.relationships.HostedOn'?)",
        f"{path}:57:13: topology_template.groups.servers.type: unknown group type 'tosca.groups.Rot' (did you mean 'tosca.groups.Root'?)",
        f"{path}:67:15: topology_template.policies[1].later.type: unknown policy type 'tosca.policies.Placemnt' (did you mean 'tosca.policies.Placement'?)",
    ]


def test_yaml_1_1_booleans_and_quoted_numbers_as_indigo_writes_them(tmp_path):
    path = service(
        tmp_path,
        """\
        inputs:
          cpus:
            type: integer
            default: '4'
            required: yes
        node_templates:
          server:
            type: Compute
            capabilities:
              host:
                properties:
                  num_cpus: { get_input: cpus }
        """,
    )
    topology = validate_file(path)
    assert topology.input_defs["cpus"].required is True
    assert topology.nodes["server"].type.name == "tosca.nodes.Compute"  # the short name


def test_quoted_booleans_and_one_part_versions_are_read_with_a_warning(tmp_path):
    # INDIGO's templates write CentOS's version as 7, and some quote booleans: tosca-parser
    # reads 7 as 7.0 and 'true' as true, so we do too, saying how each was read.
    path = service(
        tmp_path,
        """\
        node_templates:
          server:
            type: tosca.nodes.Compute
            capabilities:
              os:
                properties:
                  version: 7
              endpoint:
                properties:
                  secure: 'true'
        """,
    )
    topology = validate_file(path)
    warnings = [str(warning) for warning in topology.service.warnings]
    node = "topology_template.node_templates.server.capabilities"
    assert warnings == [
        f"{path}:31:22: {node}.os.properties.version: the one-part version 7 is read as 7.0 (as tosca-parser does):"
        " write 7.0",
        f"{path}:34:21: {node}.endpoint.properties.secure: 'true' is a string where a boolean belongs: accepted as"
        " tosca-parser does, but write true unquoted (the value reaches the playbook as written)",
    ]
    path = service(
        tmp_path,
        "node_templates:\n  server:\n    type: tosca.nodes.Compute\n    capabilities:\n"
        "      endpoint:\n        properties:\n          secure: 'yes'\n",
    )
    (problem,) = problems_of(path)
    assert problem.endswith("endpoint.properties.secure: expected true or false, got 'yes'")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-8"])
def test_a_template_in_utf_16_or_utf_32_with_a_byte_order_mark_is_read(tmp_path, encoding):
    text = "\ufeff" + HEADER + "topology_template:\n  node_templates:\n    server:\n      type: tosca.nodes.Compte\n"
    path = tmp_path / "service.yaml"
    path.write_bytes(text.encode(encoding))
    assert problems_of(str(path)) == [
        f"{path}:5:13: topology_template.node_templates.server.type: unknown node type 'tosca.nodes.Compte'"
        " (did you mean 'tosca.nodes.Compute'?)"
    ]


def test_requirements_and_imports_given_as_mappings_are_read_as_lists(tmp_path):
    # Not in the specification's grammar, but 1.0 writers and IM's templates use them (docs/tosca.md).
    write(tmp_path, HEADER + "node_types:\n  example.Thing:\n    derived_from: tosca.nodes.Root\n", "types.yaml")
    path = service(
        tmp_path,
        """\
        node_templates:
          server:
            type: tosca.nodes.Compute
          thing:
            type: example.Thing
            requirements:
              dependency: server
        """,
    )
    text = (tmp_path / "service.yaml").read_text().replace(HEADER, HEADER + "imports:\n  thing_types: types.yaml\n", 1)
    path = write(tmp_path, text)
    topology = validate_file(path)
    assert [r.target.name for r in topology.nodes["thing"].requirements] == ["server"]


def test_imports_relative_named_and_mapped_urls(tmp_path):
    (tmp_path / "types").mkdir()
    write(tmp_path, HEADER + APP_TYPES.replace("create.yml", "../create.yml"), "types/app.yaml")
    write(tmp_path, HEADER + "node_types:\n  remote.Thing:\n    derived_from: tosca.nodes.Root\n", "mirror.yaml")
    path = write(
        tmp_path,
        HEADER
        + textwrap.dedent(
            """\
        imports:
          - types/app.yaml
          - file: types/app.yaml
            namespace_prefix: lib
          - indigo_custom_types: https://example.org/tosca/custom_types.yaml
        topology_template:
          node_templates:
            one: {type: example.App}
            two: {type: "lib:example.App"}
            three: {type: remote.Thing}
        """
        ),
    )
    mapping = {"https://example.org/tosca/custom_types.yaml": str(tmp_path / "mirror.yaml")}
    topology = validate_file(path, import_map=mapping)
    assert topology.nodes["two"].type is topology.nodes["one"].type
    (problem,) = problems_of(path)
    assert "https://example.org/tosca/custom_types.yaml is not in the import map" in problem
    assert problem.startswith(f"{path}:6:5: imports[2].indigo_custom_types:")


def test_a_url_prefix_maps_a_repository_to_a_folder(tmp_path):
    (tmp_path / "mirror").mkdir()
    write(tmp_path, HEADER + "node_types:\n  remote.Thing:\n    derived_from: tosca.nodes.Root\n", "mirror/types.yaml")
    path = write(
        tmp_path,
        HEADER
        + textwrap.dedent(
            """\
        repositories:
          upstream: {url: "https://example.org/tosca/"}
        imports:
          - {file: types.yaml, repository: upstream}
        topology_template:
          node_templates:
            thing: {type: remote.Thing}
        """
        ),
    )
    validate_file(path, import_map={"https://example.org/tosca/": str(tmp_path / "mirror")})


def test_a_csar_archive_with_tosca_meta(tmp_path):
    archive = tmp_path / "service.csar"
    with zipfile.ZipFile(archive, "w") as csar:
        csar.writestr(
            "TOSCA-Metadata/TOSCA.meta", "TOSCA-Meta-File-Version: 1.1\nEntry-Definitions: definitions/service.yaml\n"
        )
        csar.writestr(
            "definitions/service.yaml",
            HEADER + "imports: [types.yaml]\ntopology_template:\n  node_templates:\n    t: {type: my.T}\n",
        )
        csar.writestr("definitions/types.yaml", HEADER + "node_types:\n  my.T: {derived_from: tosca.nodes.Root}\n")
    assert validate_file(str(archive)).nodes["t"].type.name == "my.T"


def test_derivation_and_dependency_cycles_are_shown_as_cycles(tmp_path):
    path = service(
        tmp_path,
        """\
        node_templates:
          a: {type: tosca.nodes.Root, requirements: [{dependency: b}]}
          b: {type: tosca.nodes.Root, requirements: [{dependency: c}]}
          c: {type: tosca.nodes.Root, requirements: [{dependency: a}]}
        """,
        types="node_types:\n  x.A: {derived_from: x.B}\n  x.B: {derived_from: x.A}\n",
    )
    found = problems_of(path)
    assert any("derivation cycle: x.A -> x.B -> x.A" in p or "derivation cycle: x.B -> x.A -> x.B" in p for p in found)
    path = service(
        tmp_path,
        "node_templates:\n  a: {type: tosca.nodes.Root, requirements: [{dependency: b}]}\n  b: {type: tosca.nodes.Root, requirements: [{dependency: a}]}\n",
    )
    (problem,) = problems_of(path)
    assert "dependency cycle: a -> b -> a" in problem or "dependency cycle: b -> a -> b" in problem


def test_data_types_scalar_units_and_constraints(tmp_path):
    types = APP_TYPES + textwrap.dedent(
        """\
        data_types:
          example.Limits:
            derived_from: tosca.datatypes.Root
            properties:
              memory: {type: scalar-unit.size, constraints: [{greater_or_equal: 1 GB}]}
              mode: {type: string, constraints: [{valid_values: [fast, safe]}]}
        """
    )
    types = types.replace(
        "      sizes:", "      limits:\n        type: example.Limits\n        required: false\n      sizes:"
    )
    path = service(
        tmp_path,
        """\
        node_templates:
          app:
            type: example.App
            properties:
              limits: {memory: 512 MB, mode: quick, extra: 1}
              sizes: {small: 1 GiB, wrong: two GB}
        """,
        types=types,
    )
    found = problems_of(path)
    assert any("limits.memory: '512 MB' does not meet the constraint greater_or_equal" in p for p in found)
    assert any("limits.mode: 'quick' does not meet the constraint valid_values" in p for p in found)
    assert any("limits.extra: example.Limits has no property 'extra'" in p for p in found)
    assert any("sizes.wrong: expected a scalar-unit.size" in p for p in found)
    assert not any("sizes.small" in p for p in found)


def test_functions_get_property_host_capabilities_nested_and_text(tmp_path):
    path = service(
        tmp_path,
        """\
        node_templates:
          server:
            type: tosca.nodes.Compute
            capabilities:
              host: {properties: {num_cpus: 4}}
          app:
            type: example.App
            properties:
              sizes: {small: 1 GB}
              banner: { join: [[{ get_property: [HOST, host, num_cpus] }, { token: ["a-b.c", "-.", 2] }], "/"] }
              port: { get_property: [SELF, sizes, small] }
            requirements: [{host: server}]
        """,
    )
    found = problems_of(path)
    # port gets '1 GB' through the nested lookup: an integer is expected there.
    assert len(found) == 1 and "properties.port: expected an integer, got '1 GB'" in found[0]


def test_a_missing_capability_is_a_warning_and_a_requirement_to_a_type_is_abstract(tmp_path):
    path = service(
        tmp_path,
        """\
        node_templates:
          db: {type: tosca.nodes.Root}
          app:
            type: example.App
            requirements:
              - host: {node: db}
              - dependency: {node: tosca.nodes.Compute}
        """,
    )
    topology = validate_file(path)
    assert any("offers no capability of type tosca.capabilities.Compute" in str(w) for w in topology.service.warnings)
    assert topology.nodes["app"].requirement("dependency").target_type == "tosca.nodes.Compute"


def _plays(plan) -> list:
    """The compiled plays, without the empty plays that only name an imported playbook's operation."""
    with open(plan.playbook_path) as handle:
        plays = yaml.safe_load(handle)
    for index, play in enumerate(plays):
        if play.get("tasks") == [] and "hosts" in play:
            following = plays[index + 1] if index + 1 < len(plays) else {}
            assert following.get("name") == play["name"] and "ansible.builtin.import_playbook" in following, play
    return [play for play in plays if not (play.get("tasks") == [] and "hosts" in play)]


def test_compile_orders_nodes_and_writes_a_readable_deterministic_playbook(tmp_path):
    with_db = SERVER_AND_APP.replace(
        "outputs:", "  db:\n    type: tosca.nodes.Root\n    requirements: [{dependency: app}]\noutputs:"
    )
    path = service(tmp_path, with_db)
    plan = compile_file(path, str(tmp_path / "out"), inputs={"port": 8080})
    assert plan.node_order == ["server", "app", "db"]
    assert plan.levels == [["server"], ["app"], ["db"]]
    assert [h.node for h in plan.hosts] == ["server"]
    assert plan.hosts[0].capabilities["host"]["num_cpus"] == 2
    assert (plan.hosts[0].cores, plan.hosts[0].ram_gb, plan.hosts[0].group) == (2, 2e9 / 1024**3, "tosca_server")
    plays = _plays(plan)
    assert [p["name"] for p in plays] == [
        "app: Standard.create",
        "app: Standard.create: keep what it published",
        "Outputs of the service",
    ]
    # Whose each play is, for the runner's progress: given, not read back from the names.
    assert plan.plays == {
        "app: Standard.create": PlayStep("app", "create"),
        "app: Standard.create: keep what it published": PlayStep("app"),
    }
    assert plays[0]["ansible.builtin.import_playbook"] == "../create.yml"
    assert plays[0]["vars"]["tosca_hosts"] == "tosca_server"
    assert plays[0]["vars"]["tosca_properties"] == {"port": 8080, "banner": "app on 2 cpus"}
    first = (tmp_path / "out/service.yml").read_text()
    compile_file(path, str(tmp_path / "out"), inputs={"port": 8080})
    assert (tmp_path / "out/service.yml").read_text() == first
    assert "get_attribute app.url" in plan.unresolved


def test_templates_of_one_type_keep_their_own_operations_and_artifacts(tmp_path):
    # What templates of a type share is made once per type (bench/tosca_compile): a template
    # that assigns an operation or an artifact must not change what the others run.
    (tmp_path / "special.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    path = service(
        tmp_path,
        """\
        node_templates:
          server:
            type: tosca.nodes.Compute
          first:
            type: example.App
            requirements: [{host: server}]
          special:
            type: example.App
            interfaces:
              Standard:
                create: special.yml
            artifacts:
              extra: { file: special.yml, type: tosca.artifacts.File }
            requirements: [{host: server}]
          last:
            type: example.App
            requirements: [{host: server}]
        """,
    )
    topology = validate_file(path)
    implementations = {
        name: topology.nodes[name].interfaces["Standard"].operations["create"].implementation
        for name in ("first", "special", "last")
    }
    assert implementations == {"first": "create.yml", "special": "special.yml", "last": "create.yml"}
    assert "extra" in topology.nodes["special"].artifacts
    assert "extra" not in topology.nodes["first"].artifacts and "extra" not in topology.nodes["last"].artifacts
    plays = _plays(compile_file(path, str(tmp_path / "out")))
    imported = {
        p["name"]: p["ansible.builtin.import_playbook"] for p in plays if "ansible.builtin.import_playbook" in p
    }
    assert imported == {
        "first: Standard.create": "../create.yml",
        "special: Standard.create": "../special.yml",
        "last: Standard.create": "../create.yml",
    }


ADDRESSES = """\
tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  node_templates:
    plain:
      type: tosca.nodes.Compute
    indigo:
      type: tosca.nodes.indigo.Compute
  outputs:
    plain_private: {value: {get_attribute: [plain, private_address]}}
    plain_public: {value: {get_attribute: [plain, public_address]}}
    indigo_private_0: {value: {get_attribute: [indigo, private_address, 0]}}
    indigo_public_0: {value: {get_attribute: [indigo, public_address, 0]}}
    indigo_private: {value: {get_attribute: [indigo, private_address]}}
    indigo_public: {value: {get_attribute: [indigo, public_address]}}
    url: {value: {concat: ["http://", {get_attribute: [indigo, public_address, 0]}, ":8080/app"]}}
"""


@pytest.mark.parametrize(
    ("host", "private", "public"),
    [
        pytest.param({"ansible_host": "10.0.0.5"}, "10.0.0.5", "10.0.0.5", id="ansible_host"),
        pytest.param({}, "vm-1", "vm-1", id="inventory-name"),
        pytest.param(
            {"ansible_host": "10.0.0.5", "tosca_private_address": "10.0.0.6"}, "10.0.0.6", "10.0.0.6", id="private"
        ),
        # What the providers set: strings, the public one null where the site has none.
        pytest.param(
            {"tosca_private_address": "10.0.0.6", "tosca_public_address": "192.0.2.9"},
            "10.0.0.6",
            "192.0.2.9",
            id="provider-strings",
        ),
        pytest.param(
            {"tosca_private_address": "10.0.0.6", "tosca_public_address": None}, "10.0.0.6", "10.0.0.6", id="no-public"
        ),
        pytest.param(
            {"tosca_private_address": ["10.0.0.6"], "tosca_public_address": ["192.0.2.9"]},
            "10.0.0.6",
            "192.0.2.9",
            id="as-lists",
        ),
    ],
)
def test_compute_addresses_compile_to_their_declared_type(tmp_path, host, private, public):
    # INDIGO's Compute declares its addresses as lists, the normative one as strings: an index
    # reads the address, never the first character of a string. Ansible's templar evaluates them.
    path = write(tmp_path, ADDRESSES)
    plan = compile_file(path, str(tmp_path / "out"), import_map=OWN_IMPORT_MAP)
    outputs = _plays(plan)[-1]["tasks"][0]["ansible.builtin.set_stats"]["data"]["tosca_outputs"]
    variables = {"groups": {"tosca_plain": ["vm-1"], "tosca_indigo": ["vm-1"]}, "hostvars": {"vm-1": host}}
    templar = Templar(loader=DataLoader(), variables=variables)
    found = {name: templar.template(trust_as_template(text)) for name, text in outputs.items()}
    assert found == {**addresses_as_declared(private, public), "url": f"http://{public}:8080/app"}


def test_an_index_into_a_normative_compute_address_is_a_problem(tmp_path):
    path = service(
        tmp_path,
        """\
        node_templates:
          server: {type: tosca.nodes.Compute}
        outputs:
          ip: {value: {get_attribute: [server, private_address, 0]}}
        """,
        types="",
    )
    assert problems_of(path) == [
        f"{path}:6:33: topology_template.outputs.ip.value.get_attribute:"
        " attribute 'private_address' of 'server' is a string: it has no entry 0"
    ]


def test_placement_policies_and_groups_reach_the_plan(tmp_path):
    topology = SERVER_AND_APP.replace(
        "outputs:",
        "policies:\n  - near_data:\n      type: tosca.policies.Placement\n      targets: [server]\n"
        "groups:\n  web:\n    type: tosca.groups.Root\n    members: [server, app]\noutputs:",
    )
    plan = compile_file(service(tmp_path, topology), str(tmp_path / "out"), inputs={"port": 1})
    assert plan.policies == [
        {"name": "near_data", "type": "tosca.policies.Placement", "targets": ["server"], "properties": {}}
    ]
    assert plan.groups == [{"name": "web", "type": "tosca.groups.Root", "members": ["server", "app"], "properties": {}}]


def test_inputs_without_value_become_run_time_extra_vars(tmp_path):
    plan = compile_file(service(tmp_path, SERVER_AND_APP), str(tmp_path / "out"))
    assert "input 'port': give it at run time as -e tosca_input_port=..." in plan.unresolved
    # The orchestrator reads what is missing from typed data, not from that sentence.
    assert plan.inputs == [
        InputSpec("cpus", "integer", True, True, 2, ("in_range: [1, 64]",)),
        InputSpec("port", "integer", True, False, value_needed=True),
    ]
    assert [spec.name for spec in plan.missing_inputs] == ["port"]
    assert plan.missing_inputs[0].describe() == "port (integer)"
    plays = _plays(plan)
    assert plays[0]["name"] == "Check the inputs given at run time"
    assert plays[0]["tasks"][0]["ansible.builtin.assert"]["that"] == ["tosca_input_port is defined"]


def test_the_role_registry_maps_types_and_their_descendants_to_roles(tmp_path):
    types = APP_TYPES + "  example.SpecialApp:\n    derived_from: example.App\n"
    path = service(tmp_path, "node_templates:\n  app: {type: example.SpecialApp}\n", types=types)
    plan = compile_file(path, str(tmp_path / "out"), role_registry={"example.App": "infn.cloud.common"})
    assert plan.operations == [
        Operation("app", "Standard", "create", "role", "registry: example.App -> infn.cloud.common", "localhost")
    ]
    assert _plays(plan)[0]["tasks"][0]["ansible.builtin.include_role"] == {"name": "infn.cloud.common"}


def test_a_remote_implementation_compiles_to_a_clear_stop(tmp_path):
    path = service(
        tmp_path,
        "node_templates:\n  app: {type: example.App}\n",
        types=APP_TYPES.replace("create.yml", "https://example.org/create.yml"),
    )
    plan = compile_file(path, str(tmp_path / "out"))
    (warning,) = plan.warnings
    assert warning.path == "topology_template.node_templates.app.interfaces.Standard.create.implementation"
    assert "https://example.org/create.yml is a URL the import map does not send to a local file" in warning.message
    assert "ansible.builtin.fail" in _plays(plan)[0]["tasks"][0]


def test_a_missing_implementation_file_is_a_positioned_problem(tmp_path):
    path = service(
        tmp_path, "node_templates:\n  app: {type: example.App}\n", types=APP_TYPES.replace("create.yml", "missing.yml")
    )
    with pytest.raises(DescriptionError) as caught:
        compile_file(path, str(tmp_path / "out"))
    (problem,) = caught.value.problems
    assert problem.path == "topology_template.node_templates.app.interfaces.Standard.create.implementation"
    assert problem.message == f"implementation 'missing.yml' not found (looked for {tmp_path / 'missing.yml'})"


def test_run_time_values_compile_into_jinja_lookups(tmp_path):
    types = APP_TYPES.replace(
        "        create: create.yml\n",
        "        create: create.yml\n        configure:\n          implementation: create.yml\n          inputs:\n"
        "            token: { get_operation_output: [SELF, Standard, create, token] }\n"
        "            host_part: { token: [{ get_attribute: [SELF, url] }, ':/', 1] }\n"
        "            joined: { join: [[{ get_input: missing }, b], '-'] }\n",
    )
    topology = "inputs:\n  missing: {type: string}\nnode_templates:\n  app: {type: example.App}\n"
    plan = compile_file(service(tmp_path, topology, types=types), str(tmp_path / "out"))
    configure = next(p for p in _plays(plan) if p["name"] == "app: Standard.configure")
    state = "hostvars['localhost']['tosca_state_app']"
    assert configure["vars"]["token"] == "{{ " + f"{state}['outputs']['Standard.create']['token']" + " }}"
    url = f"((({state} | default({{}}))['attributes'] | default({{}}))['url'] | string)"
    assert configure["vars"]["host_part"] == "{{ ((" + url + ").replace('/', ':')).split(':')[1] }}"
    assert configure["vars"]["joined"] == "{{ ([(tosca_input_missing | string), 'b'] | join('-')) }}"
    assert "get_operation_output app.Standard.create.token" in plan.unresolved


def test_a_relationship_template_and_its_properties(tmp_path):
    topology = """\
    relationship_templates:
      storage_link:
        type: tosca.relationships.AttachesTo
        properties: {location: /mnt/data}
    node_templates:
      server:
        type: tosca.nodes.Compute
        requirements:
          - local_storage: {node: disk, relationship: storage_link}
      disk:
        type: tosca.nodes.Storage.BlockStorage
        properties: {size: 10 GB}
    """
    result = validate_file(service(tmp_path, topology))
    link = result.nodes["server"].requirement("local_storage")
    assert link.target is result.nodes["disk"]
    assert link.relationship.name == "tosca.relationships.AttachesTo"
    assert link.relationship_properties == {"location": "/mnt/data"}
    plan = compile_file(service(tmp_path, topology), str(tmp_path / "out"))
    assert plan.node_order == ["disk", "server"]
    assert plan.volumes == [
        VolumeSpec(
            "disk", "tosca.nodes.Storage.BlockStorage", 10e9 / 1024**3, (("server", "/mnt/data"),), {"size": "10 GB"}
        )
    ]
    assert plan.hosts[0].node == "server" and plan.networks == []


def test_a_csar_compiles_with_its_implementations_unpacked(tmp_path):
    archive = tmp_path / "app.csar"
    with zipfile.ZipFile(archive, "w") as csar:
        csar.writestr("TOSCA-Metadata/TOSCA.meta", "Entry-Definitions: service.yaml\n")
        csar.writestr(
            "service.yaml", HEADER + APP_TYPES + "topology_template:\n  node_templates:\n    app: {type: example.App}\n"
        )
        csar.writestr("create.yml", "- hosts: all\n  tasks: []\n")
    # Compiling writes nothing until asked: the archive's list says which implementations exist.
    preview = compile_file(str(archive), str(tmp_path / "out"), write=False)
    assert not (tmp_path / "out").exists()
    plan = compile_file(str(archive), str(tmp_path / "out"))
    assert preview.files == plan.files
    assert _plays(plan)[0]["ansible.builtin.import_playbook"] == "service.csar/create.yml"
    assert (tmp_path / "out/service.csar/create.yml").is_file()
    broken = tmp_path / "broken.csar"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(broken, "w") as csar:
        for member in ("TOSCA-Metadata/TOSCA.meta", "create.yml"):
            csar.writestr(member, source.read(member))
        csar.writestr("service.yaml", source.read("service.yaml").decode().replace("create.yml", "missing.yml"))
    with pytest.raises(DescriptionError, match=r"implementation 'missing\.yml' not found"):
        compile_file(str(broken), str(tmp_path / "out2"), write=False)


def test_the_plan_is_made_in_memory_and_written_as_a_separate_step(tmp_path):
    path = service(tmp_path, SERVER_AND_APP)
    plan = compile_file(path, str(tmp_path / "out"), inputs={"port": 8080}, write=False)
    assert not (tmp_path / "out").exists()
    assert sorted(plan.files) == ["service.undeploy.yml", "service.vars.yml", "service.yml"]
    assert yaml.safe_load(plan.files["service.vars.yml"])["tosca_inputs"] == {"cpus": 2, "port": 8080}
    plan.write()
    assert {p.name: p.read_text() for p in (tmp_path / "out").iterdir()} == plan.files
    assert plan.playbook_path == str(tmp_path / "out/service.yml")


def test_relationship_operations_run_around_the_sources_lifecycle_on_each_ends_hosts(tmp_path):
    (tmp_path / "link.sh").write_text("#!/bin/sh\n")
    topology = """\
    node_templates:
      db_server: {type: tosca.nodes.Compute}
      web_server: {type: tosca.nodes.Compute}
      db:
        type: tosca.nodes.SoftwareComponent
        requirements: [{host: db_server}]
      app:
        type: example.App
        requirements:
          - host: web_server
          - dependency:
              node: db
              relationship:
                type: tosca.relationships.ConnectsTo
                interfaces:
                  Configure:
                    pre_configure_source: {implementation: link.sh, inputs: {db_host: {get_attribute: [TARGET, tosca_name]}}}
                    add_source: link.sh
    """
    plan = compile_file(service(tmp_path, topology), str(tmp_path / "out"))
    assert [(o.node, o.relationship, o.operation, o.hosts) for o in plan.operations] == [
        ("app", "", "create", "tosca_web_server"),
        ("app", "dependency -> db", "pre_configure_source", "tosca_web_server"),
        ("app", "dependency -> db", "add_source", "tosca_db_server"),
    ]
    plays = _plays(plan)
    assert plays[1]["name"] == "app: dependency -> db: Configure.pre_configure_source"
    assert plays[1]["tasks"][0]["environment"] == {"DB_HOST": "{{ ('db') }}"}


def test_self_in_each_relationship_is_that_relationship(tmp_path):
    (tmp_path / "mount.sh").write_text("#!/bin/sh\n")
    storage = """\
      {name}:
        type: tosca.nodes.Compute
        requirements:
          - local_storage:
              node: {disk}
              relationship:
                type: tosca.relationships.AttachesTo
                properties: {{location: /mnt/{disk}}}
                interfaces:
                  Configure:
                    pre_configure_source:
                      implementation: mount.sh
                      inputs: {{where: {{get_property: [SELF, location]}}}}
      {disk}: {{type: tosca.nodes.Storage.BlockStorage, properties: {{size: 1 GB}}}}
    """
    topology = "node_templates:\n" + "".join(
        textwrap.indent(textwrap.dedent(storage).format(name=name, disk=disk), "  ")
        for name, disk in (("a", "disk_a"), ("b", "disk_b"))
    )
    plan = compile_file(service(tmp_path, topology), str(tmp_path / "out"))
    mounts = [p["tasks"][0]["environment"]["WHERE"] for p in _plays(plan) if "pre_configure_source" in p["name"]]
    assert mounts == ["/mnt/disk_a", "/mnt/disk_b"]


def test_an_attribute_a_relationship_reads_is_kept_by_the_targets_earlier_operation(tmp_path):
    (tmp_path / "link.sh").write_text("#!/bin/sh\n")
    topology = """\
    node_templates:
      db: {type: example.App}
      web:
        type: tosca.nodes.Root
        requirements:
          - dependency:
              node: db
              relationship:
                type: tosca.relationships.ConnectsTo
                interfaces:
                  Configure:
                    pre_configure_source: {implementation: link.sh, inputs: {url: {get_attribute: [TARGET, url]}}}
    """
    plan = compile_file(service(tmp_path, topology), str(tmp_path / "out"))
    assert [p["name"] for p in _plays(plan)] == [
        "db: Standard.create",
        "db: Standard.create: keep what it published",
        "web: dependency -> db: Configure.pre_configure_source",
    ]
