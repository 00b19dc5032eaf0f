"""infn.cloud.tosca_deploy on a real two-site podman federation (tests/integration/files/paas.federation.yml).

The service is playbooks/services/web_db (Redis on one host, a web page counting its visits in
it on another). Site paas-a is preferred; its hosts are given an HTTP proxy for Debian's mirrors
that does not answer, so configuring fails there: the service must land on paas-b, with nothing
left on paas-a and paas-a's cause in the result. tests/integration/files/block_storage is a host
with a volume attached at a location.

What a deployment makes carries its name (label infn.cloud.deployment): "nothing left" is
checked by that label. The sites' networks are the sites', not a deployment's, and stay.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml

from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from ansible_collections.infn.cloud.plugins.module_utils.providers.base import HostRequest, ProvisionError
from ansible_collections.infn.cloud.plugins.module_utils.providers.registry import provider_for
from tests.common import REPO, ansible_environment
from tests.integration.podman import names, podman

PREFIX = "infn-paas-"
FEDERATION = REPO / "tests/integration/files/paas.federation.yml"
TEMPLATE = REPO / "playbooks/services/web_db/web_db.yaml"
STORAGE_TEMPLATE = REPO / "tests/integration/files/block_storage/block_storage.yaml"
INDIGO_TEMPLATE = REPO / "tests/integration/files/indigo_addresses/indigo_addresses.yaml"
INDIGO_TYPES = REPO / "tests/unit/plugins/module_utils/tosca_corpus/indigo_custom_types.yaml"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, apt fails at once


def playbook(name, *extra, check=True, env=None):
    result = subprocess.run(
        ["ansible-playbook", str(REPO / "playbooks" / name), *extra],
        capture_output=True,
        text=True,
        env=env or ansible_environment(),
        timeout=1200,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"{name} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return result


def federation_file(folder, change=None):
    """The test federation, changed by change(description) when given."""
    description = yaml.safe_load(FEDERATION.read_text())
    if change:
        change(description)
    path = folder / "paas.federation.yml"
    path.write_text(yaml.safe_dump(description))
    return path


def test_indigo_compute_addresses_reach_the_operation_and_outputs(tmp_path):
    """INFN's templates read `get_attribute: [vm, private_address, 0]` on INDIGO's Compute: on a
    real host the operation and the outputs get the host's address (not its first character),
    and the un-indexed attribute is the list INDIGO's type declares."""
    state_dir = tmp_path / "state"
    import_map = {"https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml": str(INDIGO_TYPES)}
    args = deploy_args("web8", FEDERATION, state_dir, template=INDIGO_TEMPLATE)
    playbook("deploy_service.yml", *args, "-e", json.dumps({"deployment_import_map": import_map}))
    document = state(state_dir, "web8")
    assert document["status"] == "CREATE_COMPLETE"
    host = "infn-paas-web8-vm"
    address = json.loads(podman("inspect", host).stdout)[0]["NetworkSettings"]["Networks"]
    (address,) = [network["IPAddress"] for network in address.values()]
    got = json.loads(podman("exec", host, "cat", "/root/addresses.json").stdout)
    assert got == {"first": address, "whole": [address], "public_first": address}
    assert document["outputs"] == {"first": address, "whole": [address], "url": f"http://{address}:8080/"}
    playbook("undeploy_service.yml", *args[:2], *args[6:])
    assert deployment_objects("web8") == NOTHING


def site(description, name):
    return next(s for s in description["sites"] if s["name"] == name)


def dead_mirror_on(*site_names):
    def change(description):
        for name in site_names:
            site(description, name)["vars"] = {"apt_http_proxy": DEAD_PROXY}

    return change


def deploy_args(deployment, federation, state_dir, *extra, template=TEMPLATE):
    return (
        "-e", f"deployment_name={deployment}", "-e", "deployment_project=demo",
        "-e", f"tosca_template={template}", "-e", f"deployment_federation={federation}",
        "-e", f"deployment_state_dir={state_dir}", *extra,
    )  # fmt: skip


def state(state_dir, deployment):
    return json.loads((state_dir / f"{deployment}.json").read_text())


def deployment_objects(deployment):
    """Containers and volumes labelled with the deployment, on any site: what it makes."""
    label = f"label=infn.cloud.deployment={deployment}"
    return {
        "containers": podman("ps", "-a", "--filter", label, "--format", "{{.Names}}").stdout.split(),
        "volumes": podman("volume", "ls", "--filter", label, "--format", "{{.Name}}").stdout.split(),
    }


NOTHING = {"containers": [], "volumes": []}


def container_ids(deployment):
    label = f"label=infn.cloud.deployment={deployment}"
    return sorted(podman("ps", "-a", "--filter", label, "--format", "{{.ID}} {{.Names}}").stdout.splitlines())


def redis(address, *commands):
    """The first line of Redis's reply to each command (RESP over TCP, as any client sends it)."""
    request = b"".join(
        f"*{len(words)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in words) for words in commands
    )
    with socket.create_connection((address, 6379), timeout=10) as connection:
        connection.sendall(request)
        replies = connection.makefile("rb")
        return [replies.readline().decode().strip() for _command in commands]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module", autouse=True)
def clean_paas_objects():
    def clean():
        if names("container", PREFIX) or names("network", PREFIX) or names("volume", PREFIX):
            subprocess.run(
                ["bash", str(REPO / "tests/testbed/cleanup.sh"), PREFIX], check=True, env=ansible_environment()
            )

    clean()
    yield
    clean()


@pytest.fixture(scope="module")
def failed_over(tmp_path_factory):
    """web1 deployed where paas-a (ranked first) cannot configure it: it lands on paas-b."""
    folder = tmp_path_factory.mktemp("paas")
    federation = federation_file(folder, dead_mirror_on("paas-a"))
    state_dir = folder / "state"
    result = playbook("deploy_service.yml", *deploy_args("web1", federation, state_dir))
    return {"federation": federation, "state_dir": state_dir, "output": result.stdout}


def test_service_fails_over_to_the_next_site_and_answers(failed_over):
    document = state(failed_over["state_dir"], "web1")
    assert document["status"] == "CREATE_COMPLETE"
    assert [entry["site"] for entry in document["ranking"]] == ["paas-a", "paas-b"]
    assert document["ranking"][0]["rank"] == 1
    first, second = document["attempts"]
    assert first["site"] == "paas-a" and first["status"] == "failed" and first["cleaned"] is True
    assert first["phase"] == "configure"
    # paas-a's own cause: the proxy its hosts were given for the mirrors does not answer.
    assert "127.0.0.1" in first["error"] or "apt" in first["error"].lower(), first["error"]
    assert second == {**second, "site": "paas-b", "status": "succeeded"}
    assert document["site"] == "paas-b"
    url = document["outputs"]["url"]
    assert url.startswith("http://10.99.43."), url  # paas-b's subnet
    status, body = get(url)
    assert status == 200 and body.startswith("visits: ")
    _status, again = get(url)
    assert int(again.split()[1]) == int(body.split()[1]) + 1  # the count lives in the database


def test_redis_answers_only_with_the_password(failed_over):
    document = state(failed_over["state_dir"], "web1")
    db = document["outputs"]["db_address"]
    (refused,) = redis(db, ["INCR", "visits"])
    assert refused.startswith("-NOAUTH"), refused
    # Generated once into the collection's secrets folder (beside the federation description
    # by default), readable by its owner only, and never printed.
    secret = failed_over["federation"].parent.with_suffix(".secrets") / "deployments/web1/redis_password"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    password = secret.read_text().split()[0]
    assert len(password) >= 20 and password not in failed_over["output"]
    kept = [path for path in failed_over["state_dir"].rglob("*") if path.is_file()]  # runner's events included
    assert kept and not [path for path in kept if password in path.read_text(errors="replace")]
    assert redis(db, ["AUTH", "wrong-password"], ["GET", "visits"])[0].startswith("-WRONGPASS")
    authenticated, count = redis(db, ["AUTH", password], ["GET", "visits"])
    assert authenticated == "+OK" and count.startswith("$")
    # The page, given the password, still counts.
    _status, before = get(document["outputs"]["url"])
    _status, after = get(document["outputs"]["url"])
    assert int(after.split()[1]) == int(before.split()[1]) + 1


def test_nothing_is_left_on_the_failed_site(failed_over):
    hosts = podman(
        "ps", "-a", "--filter", "label=infn.cloud.deployment=web1", "--format", "{{.Labels}}"
    ).stdout  # fmt: skip
    assert "infn.cloud.site:paas-a" not in hosts and "infn.cloud.site:paas-b" in hosts
    assert "paas-a" in failed_over["output"] and "removing what was made there" in failed_over["output"]


def test_progress_and_per_node_states(failed_over):
    document = state(failed_over["state_dir"], "web1")
    assert {name: node["state"] for name, node in document["nodes"].items()} == {
        "db_server": "started",
        "web_server": "started",
        "db": "started",
        "web": "started",
    }
    assert document["nodes"]["web_server"]["host"] == "infn-paas-web1-web-server"
    for line in (
        "[web1] db: creating",
        "[web1] db: configured",
        "[web1] web: configuring",
        "CREATE_COMPLETE on paas-b",
    ):
        assert line in failed_over["output"]


def test_deployment_info_shows_the_state(failed_over):
    env = {
        **ansible_environment(),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    }
    result = subprocess.run(
        ["ansible", "localhost", "-m", "infn.cloud.deployment_info", "-a",
         f"name=web1 state_dir={failed_over['state_dir']}"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    # profile_tasks prints around the JSON document
    printed, _end = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("\n{") + 1 :])
    answer = printed["plays"][0]["tasks"][0]["hosts"]["localhost"]
    (document,) = answer["deployments"]
    assert document["status"] == "CREATE_COMPLETE" and document["site"] == "paas-b"
    assert document["nodes"]["db"]["state"] == "started"
    shown = playbook(
        "deployment_info.yml", "-e", "deployment_name=web1", "-e", f"deployment_state_dir={failed_over['state_dir']}"
    )
    assert "CREATE_COMPLETE" in shown.stdout and "db: started" in shown.stdout


def test_second_deploy_is_a_no_op(failed_over):
    before = container_ids("web1")
    result = playbook("deploy_service.yml", *deploy_args("web1", failed_over["federation"], failed_over["state_dir"]))
    assert "changed=0" in result.stdout.split("PLAY RECAP")[-1]
    assert container_ids("web1") == before
    assert len(state(failed_over["state_dir"], "web1")["attempts"]) == 2


def test_undeploy_leaves_nothing(failed_over):
    result = playbook(
        "undeploy_service.yml",
        "-e", "deployment_name=web1", "-e", f"deployment_federation={failed_over['federation']}",
        "-e", f"deployment_state_dir={failed_over['state_dir']}",
    )  # fmt: skip
    assert "DELETE_COMPLETE" in result.stdout
    assert deployment_objects("web1") == NOTHING
    document = state(failed_over["state_dir"], "web1")
    assert document["status"] == "DELETE_COMPLETE"
    assert document["teardown"] is True  # web_db's Redis has a delete, its page a stop
    assert {node["state"] for node in document["nodes"].values()} == {"deleted"}
    again = playbook(
        "undeploy_service.yml",
        "-e", "deployment_name=web1", "-e", f"deployment_federation={failed_over['federation']}",
        "-e", f"deployment_state_dir={failed_over['state_dir']}",
    )  # fmt: skip
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]


def test_every_site_failing_names_each_cause(tmp_path):
    def change(description):
        # paas-a lists an image podman does not have: creating its hosts fails; paas-b's
        # hosts cannot reach the mirrors: configuring fails.
        site(description, "paas-a")["sla"]["images"] = ["debian-12"]
        site(description, "paas-b")["vars"] = {"apt_http_proxy": DEAD_PROXY}

    federation = federation_file(tmp_path, change)
    result = playbook("deploy_service.yml", *deploy_args("web2", federation, tmp_path / "state"), check=False)
    assert result.returncode != 0
    document = state(tmp_path / "state", "web2")
    assert document["status"] == "CREATE_FAILED"
    reason = document["status_reason"]
    assert reason.startswith("every site tried failed: paas-a: provision: ")
    assert "debian-12" in reason and "paas-b: configure: " in reason
    assert "every site tried failed: paas-a: provision" in result.stdout
    assert "NOT cleaned up" not in reason
    assert deployment_objects("web2") == NOTHING, document["attempts"]


def test_no_site_admits_the_project(tmp_path):
    result = playbook(
        "deploy_service.yml",
        *deploy_args("web3", FEDERATION, tmp_path / "state", "-e", "deployment_project=chemistry"),
        check=False,
    )
    assert result.returncode != 0
    assert "no site can take the service: paas-a: its SLA does not admit project 'chemistry'" in result.stdout
    assert deployment_objects("web3") == NOTHING


def kill_tree(root):
    """SIGKILL a process and every descendant at once: the controller dies, workers and the
    ansible-playbook that ansible-runner started included (they run in sessions of their own)."""
    children = {}
    for line in subprocess.run(
        ["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


SLOW_SERVICE = """\
tosca_definitions_version: tosca_simple_yaml_1_3
topology_template:
  node_templates:
    vm: {type: tosca.nodes.Compute}
    app:
      type: tosca.nodes.SoftwareComponent
      requirements: [{host: vm}]
      interfaces:
        Standard:
          create: create.sh
  outputs:
    address: {value: {get_attribute: [vm, private_address]}}
"""


def test_killed_deploy_resumes_without_new_hosts(tmp_path):
    # The operation takes its time (and no CPU), to be killed in the middle of it.
    (tmp_path / "service.yaml").write_text(SLOW_SERVICE)
    (tmp_path / "create.sh").write_text("#!/bin/sh\nsleep 20\ndate >> /root/created\n")
    state_dir = tmp_path / "state"
    args = deploy_args("web4", FEDERATION, state_dir, template=tmp_path / "service.yaml")
    command = ["ansible-playbook", str(REPO / "playbooks/deploy_service.yml"), *args]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ansible_environment(), start_new_session=True
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # kill it while app's Standard.create runs
            path = state_dir / "web4.json"
            if path.exists() and json.loads(path.read_text())["nodes"].get("app", {}).get("state") == "creating":
                break
            assert process.poll() is None, "the deployment ended before it could be interrupted"
            time.sleep(0.5)
        else:
            pytest.fail("the deployment did not reach app's Standard.create within 600 s")
    finally:
        kill_tree(process.pid)
        process.wait()
    interrupted = state(state_dir, "web4")
    assert interrupted["status"] == "CREATE_IN_PROGRESS"
    before = container_ids("web4")
    assert len(before) == 1
    playbook("deploy_service.yml", *args)
    document = state(state_dir, "web4")
    assert document["status"] == "CREATE_COMPLETE"
    assert container_ids("web4") == before  # the same host: resumed, not made again
    (attempt,) = document["attempts"]
    assert attempt["site"] == "paas-a" and attempt["resumed"] == 1
    # The resumed run ran the operation on the host the killed one had made.
    assert podman("exec", "infn-paas-web4-vm", "cat", "/root/created").stdout.strip()
    assert document["outputs"]["address"] == document["nodes"]["vm"]["address"]
    playbook("undeploy_service.yml", *args[:2], *args[6:])
    assert deployment_objects("web4") == NOTHING


def test_quota_is_checked_again_just_before_creating(tmp_path):
    """Placement saw room, but another deployment took it meanwhile: the provider refuses before
    creating anything, and says which quota."""

    def change(description):
        site(description, "paas-a")["sla"]["quotas"] = {"instances": 1}

    federation, _options = load_federation(str(federation_file(tmp_path, change)))
    provider = provider_for(federation.site("paas-a"), federation.name)
    hosts = [
        HostRequest(node=f"vm{i}", cores=1, ram_gb=0.25, image="localhost/infn-cloud-debian-systemd:bookworm")
        for i in range(2)
    ]
    with pytest.raises(ProvisionError, match=r"^quota exhausted at provisioning: instances 2 wanted, 1 of 1 free$"):
        provider.provision("web5", hosts, [], time.monotonic() + 60)
    assert deployment_objects("web5") == NOTHING


def test_a_failed_update_leaves_the_running_service_where_it_is(tmp_path):
    (tmp_path / "service.yaml").write_text(SLOW_SERVICE)
    (tmp_path / "create.sh").write_text("#!/bin/sh\ndate >> /root/created\n")
    state_dir = tmp_path / "state"
    args = deploy_args("web6", FEDERATION, state_dir, template=tmp_path / "service.yaml")
    playbook("deploy_service.yml", *args)
    before = container_ids("web6")
    # The template changes (its operation now fails): the update fails on paas-a, and the
    # service stays there, untouched, instead of moving to paas-b.
    (tmp_path / "service.yaml").write_text(SLOW_SERVICE.replace("create.sh", "create_v2.sh"))
    (tmp_path / "create_v2.sh").write_text("#!/bin/sh\necho 'version 2 cannot start' >&2\nexit 3\n")
    failed = playbook("deploy_service.yml", *args, check=False)
    assert failed.returncode != 0
    document = state(state_dir, "web6")
    assert document["status"] == "CREATE_FAILED" and document["site"] == "paas-a"
    assert "the running service is left as it is" in failed.stdout
    assert [a["site"] for a in document["attempts"]] == ["paas-a", "paas-a"]
    assert container_ids("web6") == before
    # Back to the first version: it converges where it runs.
    (tmp_path / "service.yaml").write_text(SLOW_SERVICE)
    playbook("deploy_service.yml", *args)
    document = state(state_dir, "web6")
    assert document["status"] == "CREATE_COMPLETE" and document["site"] == "paas-a"
    assert container_ids("web6") == before
    playbook("undeploy_service.yml", *args[:2], *args[6:])
    assert deployment_objects("web6") == NOTHING


def test_block_storage_is_attached_at_its_location_and_outlives_its_host(tmp_path):
    state_dir = tmp_path / "state"
    args = deploy_args("web7", FEDERATION, state_dir, template=STORAGE_TEMPLATE)
    playbook("deploy_service.yml", *args)
    document = state(state_dir, "web7")
    assert document["status"] == "CREATE_COMPLETE" and document["nodes"]["data"]["state"] == "started"
    host, volume = "infn-paas-web7-vm", "infn-paas-web7-data"
    # Made with the deployment's label (every volume named for it has it), attached at /data,
    # where configure (run after the provider attached it) found it mounted.
    assert deployment_objects("web7") == {"containers": [host], "volumes": [volume]}
    assert names("volume", "infn-paas-web7-") == [volume]
    (mount,) = [m for m in json.loads(podman("inspect", host).stdout)[0]["Mounts"] if m.get("Name") == volume]
    assert mount["Destination"] == "/data"
    assert podman("exec", host, "mountpoint", "/data").returncode == 0
    assert podman("exec", host, "cat", "/data/configured").stdout.strip()
    podman("exec", host, "sh", "-c", "echo kept > /data/written")
    # The host is lost; deploying again makes a new one, and the volume comes back with it.
    podman("rm", "--force", "--time", "5", host)
    playbook("deploy_service.yml", *args)
    assert state(state_dir, "web7")["status"] == "CREATE_COMPLETE"
    assert podman("exec", host, "cat", "/data/written").stdout == "kept\n"
    assert len(podman("exec", host, "cat", "/data/configured").stdout.splitlines()) == 2
    playbook("undeploy_service.yml", *args[:2], *args[6:])
    assert deployment_objects("web7") == NOTHING
    assert podman("volume", "exists", volume, check=False).returncode == 1
