"""The orchestrator's parts that need no site: the state document and its lock, placement
(what a template needs, which sites fit and in which order, and why), and the run of a
compiled service through ansible-runner on this machine (node progress, outputs, failures)."""

import json
import os
import textwrap
from types import SimpleNamespace

import pytest
import swiftclient

from ansible_collections.infn.cloud.plugins.module_utils.deployment import orchestrator
from ansible_collections.infn.cloud.plugins.module_utils.deployment import state as states
from ansible_collections.infn.cloud.plugins.module_utils.deployment.placement import rank_sites
from ansible_collections.infn.cloud.plugins.module_utils.deployment.runner import run_playbook
from ansible_collections.infn.cloud.plugins.module_utils.deployment.swift_store import SwiftStore
from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from ansible_collections.infn.cloud.plugins.module_utils.providers.base import Capacity, Offer, SiteError
from ansible_collections.infn.cloud.plugins.module_utils.sites import SiteResult
from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import PlayStep
from tests.common import REPO, ansible_environment

WEB_DB = str(REPO / "playbooks/services/web_db/web_db.yaml")
FEDERATION = str(REPO / "tests/integration/files/paas.federation.yml")
DEBIAN = {
    "name": "localhost/infn-cloud-debian-systemd:bookworm",
    "distribution": "debian",
    "version": "12",
    "type": "linux",
}


# ---- state ----


def test_state_is_written_whole_and_read_back(tmp_path):
    store = states.DeploymentStore(str(tmp_path / "deployments"))
    document = states.new_document("web1", "demo", "/t.yaml", "abc")
    store.write(document)
    assert store.read("web1") == document
    assert store.names() == ["web1"]
    assert sorted(os.listdir(store.folder)) == ["web1.json"]  # no temporary file left
    assert oct(os.stat(store.path("web1")).st_mode & 0o777) == "0o600"
    assert store.read("other") is None


def test_a_state_of_another_schema_is_refused_by_name(tmp_path):
    store = states.DeploymentStore(str(tmp_path))
    (tmp_path / "old.json").write_text(json.dumps({"schema": 99, "name": "old"}))
    with pytest.raises(states.StateError, match=r"old.json: not a deployment state of schema 1 \(schema 99\)"):
        store.read("old")
    (tmp_path / "torn.json").write_text("{")
    with pytest.raises(states.StateError, match=r"cannot read the deployment state .*torn\.json"):
        store.read("torn")


def test_two_runs_on_one_deployment_cannot_interleave(tmp_path):
    store = states.DeploymentStore(str(tmp_path))
    with store.locked("web1"):
        with (
            pytest.raises(
                states.StateError, match=rf"'web1' is being worked on by another run \(process {os.getpid()}\)"
            ),
            store.locked("web1"),
        ):
            pass
        with store.locked("web2"):  # another deployment is not held up
            pass
    with store.locked("web1"):  # released when the first run ended
        pass


@pytest.mark.parametrize("name", ["web1", "a", "cms-web-2"])
def test_deployment_names(name):
    assert states.NAME.fullmatch(name)


@pytest.mark.parametrize("name", ["", "Web", "-web", "web-", "web_1", "a" * 41, "web.1"])
def test_bad_deployment_names(name):
    assert not states.NAME.fullmatch(name)


def _begin(store, found=None, digest="d1"):
    request = orchestrator.Request(name="web1", template="/t.yaml", project="demo")
    plan = SimpleNamespace(
        teardown=True, plays={"db: Standard.create": PlayStep("db", "create")}, node_order=["vm", "db"]
    )
    return states.Deployment.begin(store, found, request, digest, plan, ranking=[{"site": "paas-a"}])


def test_every_change_of_a_deployment_is_written_at_once(tmp_path):
    store = states.DeploymentStore(str(tmp_path))
    deployment = _begin(store)
    assert store.read("web1")["status"] == states.CREATE_IN_PROGRESS
    assert store.read("web1")["nodes"] == {"vm": {"state": "initial"}, "db": {"state": "initial"}}
    assert store.read("web1")["plays"] == {"db: Standard.create": "db"}
    attempt, resuming = deployment.start_attempt("paas-a")
    assert not resuming and store.read("web1")["site"] == "paas-a"
    deployment.node_state("vm", "creating")
    assert store.read("web1")["nodes"]["vm"]["state"] == "creating"
    host = SimpleNamespace(
        node="vm", name="infn-web1-vm", address="10.0.0.9", public_address=None, facts={}, connection={"c": 1}
    )
    deployment.provisioned(attempt, "paas-a", [host], {"vm": "tosca_vm"}, [], 1.234)
    saved = store.read("web1")
    assert saved["nodes"]["vm"]["host"] == "infn-web1-vm" and saved["nodes"]["vm"]["state"] == "created"
    assert saved["attempts"][0]["phase"] == "configure" and saved["attempts"][0]["provision_seconds"] == 1.23
    deployment.attempt_failed(attempt, "configure", "db: task 'x' on vm: boom")
    deployment.cleaned_up(attempt, None)
    saved = store.read("web1")
    assert saved["site"] is None and saved["nodes"]["vm"]["host"] is None and saved["attempts"][0]["cleaned"]
    deployment.failed("every site tried failed: paas-a: configure: boom")
    # The next run keeps the failed run's attempts apart and starts its own.
    again = _begin(store, states.Deployment.read(store, "web1"))
    saved = store.read("web1")
    assert saved["status"] == states.CREATE_IN_PROGRESS and saved["attempts"] == []
    assert [a["error"] for a in saved["previous_attempts"]] == ["db: task 'x' on vm: boom"]
    second, _resuming = again.start_attempt("paas-a")
    again.configure_took(second, 2.0)
    again.configured(second, {"url": "http://x"})
    again.deployed(5.0)
    saved = store.read("web1")
    assert saved["status"] == states.CREATE_COMPLETE and saved["outputs"] == {"url": "http://x"}
    assert {entry["state"] for entry in saved["nodes"].values()} == {"started"}
    assert saved["timings"]["deploy_seconds"] == 5.0 and saved["attempts"][0]["configure_seconds"] == 2.0
    again.deleting()
    assert store.read("web1")["status"] == states.DELETE_IN_PROGRESS
    again.deleted(3.0)
    saved = store.read("web1")
    assert (saved["status"], saved["site"], saved["outputs"]) == (states.DELETE_COMPLETE, None, {})


def test_a_run_killed_while_running_on_a_site_is_resumed_there(tmp_path):
    store = states.DeploymentStore(str(tmp_path))
    first, _resuming = _begin(store).start_attempt("paas-b")
    # The process died here: the next run reads the state and goes on where it was.
    deployment = _begin(store, states.Deployment.read(store, "web1"))
    attempt, resuming = deployment.start_attempt("paas-b")
    assert resuming and attempt["started"] == first["started"] and attempt["resumed"] == 1
    assert len(store.read("web1")["attempts"]) == 1


def test_a_swift_store_that_cannot_be_reached_says_which_and_why():
    # A real client against a port nothing listens on (the Swift store's own tests run against
    # the backbone's Swift: molecule/swift/tests/test_deployment_store.py).
    def connect():
        return swiftclient.Connection(
            authurl="http://127.0.0.1:9/auth/v1.0", user="paas:ops", key="k", auth_version="1", retries=0, timeout=5
        )

    store = SwiftStore(connect, "deployments")
    with pytest.raises(states.StateError, match=r"cannot read the deployment state swift:deployments/web1\.json: "):
        store.read("web1")
    locking = store.locked("web1")
    with pytest.raises(states.StateError, match="cannot create Swift container deployments: "):
        locking.__enter__()
    assert store.path("web1") == "swift:deployments/web1.json"


# ---- placement ----


@pytest.fixture(scope="module")
def web_db(tmp_path_factory):
    return compile_file(WEB_DB, str(tmp_path_factory.mktemp("web_db")), name="service")


@pytest.fixture(scope="module")
def federation():
    return load_federation(FEDERATION)[0]


def answer(site, free_instances=6, reachable=True, images=(DEBIAN,), flavors=None, error=None, seconds=0.1):
    limits = {"cores": 8, "ram_gb": 8, "instances": 6}
    usage = {"cores": 0, "ram_gb": 0, "instances": 6 - free_instances}
    capacity = Capacity(
        reachable=reachable, reason="" if reachable else "podman info failed: boom", limits=limits, usage=usage
    )
    value = None if error else (capacity, Offer(images=list(images), flavors=flavors))
    return SiteResult(site, value, error, seconds)


def test_what_a_template_needs_of_a_site(web_db):
    assert [(h.node, h.cores, round(h.ram_gb, 3), h.public) for h in web_db.hosts] == [
        ("db_server", 1, 0.477, False),
        ("web_server", 1, 0.477, True),
    ]
    assert web_db.hosts[0].os == {"type": "linux", "distribution": "debian"}
    assert web_db.services == ("vm",)
    assert web_db.totals()["instances"] == 2 and web_db.totals()["public_ips"] == 1


def test_sites_rank_by_priority_then_free_share(web_db, federation):
    answers = {"paas-a": answer("paas-a"), "paas-b": answer("paas-b")}
    choices, ranking = rank_sites(federation, web_db, "demo", answers)
    assert [c.site for c in choices] == ["paas-a", "paas-b"]
    assert ranking[0]["reason"] == "SLA priority 10; leaves 67% of its instances free; answered in 0.10 s"
    assert choices[0].images == {"db_server": DEBIAN["name"], "web_server": DEBIAN["name"]}


def test_each_excluded_site_says_why(web_db, federation):
    cases = {
        "paas-a": answer("paas-a", free_instances=1),
        "paas-b": answer("paas-b", images=[{"name": "ubuntu-22.04", "distribution": "ubuntu", "version": "22.04"}]),
    }
    choices, ranking = rank_sites(federation, web_db, "demo", cases)
    assert choices == []
    reasons = {entry["site"]: entry["reason"] for entry in ranking}
    assert reasons == {
        "paas-a": "not enough quota: instances 2 wanted, 1 of 6 free",
        "paas-b": "no image for db_server (type linux distribution debian); it offers: ubuntu-22.04",
    }
    _choices, ranking = rank_sites(
        federation,
        web_db,
        "physics",
        {"paas-a": answer("paas-a", reachable=False), "paas-b": answer("paas-b", error="no answer within 30s")},
    )
    reasons = {entry["site"]: entry["reason"] for entry in ranking}
    assert reasons == {
        "paas-a": "not reachable: podman info failed: boom",
        "paas-b": "its SLA does not admit project 'physics' (only demo)",
    }


def test_flavors_are_the_smallest_that_fit(web_db, federation):
    flavors = [
        {"name": "large", "cores": 4, "ram_gb": 8},
        {"name": "small", "cores": 1, "ram_gb": 2},
        {"name": "tiny", "cores": 1, "ram_gb": 0.25},
    ]
    choices, _ranking = rank_sites(
        federation, web_db, "demo", {"paas-a": answer("paas-a", flavors=flavors)}, only_sites=("paas-a",)
    )
    assert choices[0].flavors == {"db_server": "small", "web_server": "small"}
    _choices, ranking = rank_sites(
        federation, web_db, "demo", {"paas-a": answer("paas-a", flavors=flavors[2:])}, only_sites=("paas-a",)
    )
    assert (
        ranking[0]["reason"] == "no flavor for db_server (1 cores, 0.476837 GiB); it offers: tiny (1 cores, 0.25 GiB)"
    )


def test_the_site_holding_a_deployment_comes_first_and_its_hosts_are_not_counted_twice(web_db, federation):
    answers = {"paas-a": answer("paas-a"), "paas-b": answer("paas-b", free_instances=0)}
    choices, _ranking = rank_sites(federation, web_db, "demo", answers, resume_site="paas-b")
    assert [c.site for c in choices] == ["paas-b", "paas-a"]


def _template(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_a_placement_policy_names_the_sla(tmp_path, federation):
    template = _template(
        tmp_path,
        "placed.yaml",
        """\
            tosca_definitions_version: tosca_simple_yaml_1_3
            policy_types:
              example.SlaPlacement:
                derived_from: tosca.policies.Placement
                properties:
                  sla_id: {type: string}
            topology_template:
              node_templates:
                vm: {type: tosca.nodes.Compute}
              policies:
                - pinned: {type: example.SlaPlacement, targets: [vm], properties: {sla_id: sla-b}}
            """,
    )
    plan = compile_file(template, str(tmp_path / "out"))
    assert plan.sla_ids == ("sla-b",)
    choices, ranking = rank_sites(federation, plan, "demo", {"paas-a": answer("paas-a"), "paas-b": answer("paas-b")})
    assert [c.site for c in choices] == ["paas-b"]
    assert ranking[1] == {
        "site": "paas-a",
        "provider": "podman",
        "priority": 10,
        "eligible": False,
        "reason": "the template's placement policy asks for sla-b",
    }


def test_a_template_missing_inputs_is_refused_before_any_site_is_asked(tmp_path, federation):
    template = _template(
        tmp_path,
        "needs.yaml",
        """\
            tosca_definitions_version: tosca_simple_yaml_1_3
            topology_template:
              inputs:
                cores: {type: integer, constraints: [{in_range: [1, 8]}]}
                unused: {type: string}
              node_templates:
                vm:
                  type: tosca.nodes.Compute
                  capabilities: {host: {properties: {num_cpus: {get_input: cores}}}}
            """,
    )
    runner = orchestrator.Orchestrator(federation, states.DeploymentStore(str(tmp_path / "state")))
    request = orchestrator.Request(name="needs", template=template, project="demo")
    with pytest.raises(orchestrator.DeploymentError) as caught:
        runner.plan(request, str(tmp_path / "out"))
    # Typed from the plan: the option to use, each input's type and constraints; an input the
    # template never reads is not asked for.
    assert str(caught.value) == (
        "the template reads inputs that have no value and no default; give them in the inputs option: "
        "cores (integer, in_range: [1, 8])"
    )
    assert not (tmp_path / "out").exists()


# ---- running a compiled service through ansible-runner ----

SERVICE = """\
tosca_definitions_version: tosca_simple_yaml_1_3
node_types:
  example.Db:
    derived_from: tosca.nodes.SoftwareComponent
    attributes:
      url: {type: string}
topology_template:
  inputs:
    fail: {type: boolean, default: false}
  node_templates:
    server: {type: tosca.nodes.Compute}
    db:
      type: example.Db
      requirements: [{host: server}]
      interfaces:
        Standard:
          create: {implementation: db_create.yml, inputs: {fail: {get_input: fail}}}
          delete: db_delete.yml
    web:
      type: tosca.nodes.SoftwareComponent
      requirements: [{host: server}, {dependency: db}]
      interfaces:
        Standard:
          configure: web_configure.yml
          stop: web_stop.yml
  outputs:
    where: {value: {concat: ["db at ", {get_attribute: [db, url]}]}}
"""


def _operation(name, *extra_tasks):
    note = {
        "name": "Note it",
        "ansible.builtin.lineinfile": {
            "path": "{{ log }}",
            "line": f"{name} on {{{{ inventory_hostname }}}}",
            "create": True,
        },
    }
    return json.dumps(
        [{"name": name, "hosts": "{{ tosca_hosts }}", "gather_facts": False, "tasks": [note, *extra_tasks]}]
    )


@pytest.fixture
def service(tmp_path):
    (tmp_path / "service.yaml").write_text(SERVICE)
    fail = {
        "name": "Fail when asked",
        "ansible.builtin.fail": {"msg": "the database refused to start"},
        "when": "fail | bool",
    }
    publish = {
        "name": "Publish the URL",
        "ansible.builtin.set_fact": {"tosca_set_attributes": {"url": "redis://{{ inventory_hostname }}"}},
    }
    # A play name with a colon of its own must not read as a node's operation.
    (tmp_path / "db_create.yml").write_text(_operation("Setup: db create", fail, publish))
    for name in ("db_delete", "web_configure", "web_stop"):
        (tmp_path / f"{name}.yml").write_text(_operation(name.replace("_", " ")))
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory = {"all": {"hosts": {"localhost": local}, "children": {"tosca_server": {"hosts": {"vm-1": local}}}}}
    return tmp_path, inventory


def _compile_and_run(folder, inventory, inputs, playbook="playbook_path"):
    plan = compile_file(str(folder / "service.yaml"), str(folder / "out"), inputs=inputs, name="service")
    seen = []
    env = ansible_environment()
    result = run_playbook(
        str(folder / "runner"),
        getattr(plan, playbook),
        inventory,
        300,
        on_node=lambda node, state: seen.append(f"{node}: {state}"),
        envvars={"ANSIBLE_COLLECTIONS_PATH": env.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build/collections"))},
        extravars={"log": str(folder / "run.log")},
        plays=plan.plays,
    )
    return plan, result, seen


def test_a_run_reports_each_nodes_progress_and_the_outputs(service):
    folder, inventory = service
    _plan, result, seen = _compile_and_run(folder, inventory, {})
    assert result.ok, result.reason()
    assert seen == ["db: creating", "db: created", "web: configuring", "web: configured"]
    assert result.outputs == {"where": "db at redis://vm-1"}
    assert (folder / "run.log").read_text().splitlines() == ["Setup: db create on vm-1", "web configure on vm-1"]


def test_a_failed_task_is_blamed_on_its_node_with_its_message(service):
    folder, inventory = service
    _plan, result, seen = _compile_and_run(folder, inventory, {"fail": True})
    assert not result.ok
    assert seen == ["db: creating", "db: error"]
    assert result.reason() == "db: task 'Fail when asked' on vm-1: the database refused to start"


def test_the_undeploy_playbook_stops_and_deletes_dependents_first(service):
    folder, inventory = service
    plan, result, _seen = _compile_and_run(folder, inventory, {}, playbook="undeploy_path")
    assert result.ok, result.reason()
    assert [op.operation for op in plan.operations if op.operation in ("stop", "delete")] == ["stop", "delete"]
    assert plan.teardown
    assert (folder / "run.log").read_text().splitlines() == ["web stop on vm-1", "db delete on vm-1"]


# ---- cleanup after a failed attempt ----


class FlakyRemoval:
    """A site whose removal fails the first `failures` times (a podman rm that timed out under
    load), then works."""

    def __init__(self, failures):
        self.failures, self.calls = failures, 0

    def deprovision(self, deployment):
        self.calls += 1
        if self.calls <= self.failures:
            raise SiteError(f"podman rm did not answer within 120s (call {self.calls})")


def test_a_removal_that_fails_is_tried_again(monkeypatch):
    monkeypatch.setattr(orchestrator, "CLEANUP_PAUSE", 0)
    site = FlakyRemoval(failures=2)
    assert orchestrator._remove(site, "web") is None
    assert site.calls == 3


def test_a_removal_that_keeps_failing_gives_its_last_error(monkeypatch):
    monkeypatch.setattr(orchestrator, "CLEANUP_PAUSE", 0)
    site = FlakyRemoval(failures=5)
    assert orchestrator._remove(site, "web") == "podman rm did not answer within 120s (call 3)"
    assert site.calls == orchestrator.CLEANUP_TRIES


def test_every_run_knows_the_deployment_and_the_secrets_folder(federation, tmp_path):
    service = orchestrator.Orchestrator(federation, states.DeploymentStore(str(tmp_path)))
    document = {
        "name": "web1",
        "nodes": {
            "db_server": {
                "host": "infn-paas-web1-db-server",
                "group": "tosca_db_server",
                "connection": {"ansible_connection": "local"},
                "address": "10.99.42.254",
            }
        },
    }
    inventory = service._inventory(document, "paas-a", secrets_dir="/srv/federation.secrets")
    assert inventory["all"]["vars"] == {
        "infn_cloud_deployment": "web1",
        "infn_cloud_secrets_dir": "/srv/federation.secrets",
    }
    assert list(inventory["all"]["children"]["tosca_db_server"]["hosts"]) == ["infn-paas-web1-db-server"]
    # Without a secrets folder (an undeploy that was given none), the operations are told none.
    assert service._inventory(document, "paas-a")["all"]["vars"] == {"infn_cloud_deployment": "web1"}
