"""`make demo` brings up the local federation, a second run changes nothing, and
`make demo-clean` leaves nothing of it behind.

The test runs the demo on a renamed copy of its inventory (tests/common.py: containers and
networks infn-dtest-..., subnets 10.99.12-13.0/24), so it runs beside a user's own demo and
never touches it."""

import json
import re
import shutil
import smtplib
import ssl
import subprocess
import time
import urllib.request

import pytest
import swiftclient

from tests.common import DEMO_TEST_PREFIX, REPO, ansible_environment, demo_test_federation, write_demo_test_inventory
from tests.integration.podman import names, podman

WORK = REPO / "build/demo-test"
INVENTORY = WORK / "inventory"
DEPLOYMENTS = WORK / "deployments"
SECRETS = WORK / "inventory.secrets"
MAKE_VARIABLES = (f"DEMO_INVENTORY={INVENTORY}", f"DEMO_DEPLOYMENTS={DEPLOYMENTS}", f"DEMO_PREFIX={DEMO_TEST_PREFIX}")
HOSTS = {host["name"]: host["address"] for site in demo_test_federation()["sites"] for host in site["hosts"]}


def make(target):
    result = subprocess.run(
        ["make", "-C", str(REPO), target, *MAKE_VARIABLES],
        capture_output=True,
        text=True,
        env=ansible_environment(),
        # Alone `make demo` takes about 15 minutes; beside make test's other jobs on 2 CPUs it
        # took more than 30 (a guard against a hang, not a target).
        timeout=3600,
        check=False,
    )
    assert result.returncode == 0, f"make {target} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def recap(output):
    """{host: changed count} over every PLAY RECAP in the output."""
    changed = {}
    for host, count in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.MULTILINE):
        changed[host] = changed.get(host, 0) + int(count)
    return changed


@pytest.fixture(scope="module")
def demo():
    make("demo-clean")  # what an interrupted earlier run of this test left
    write_demo_test_inventory(INVENTORY)
    try:
        yield make("demo")
    finally:
        make("demo-clean")
        shutil.rmtree(WORK, ignore_errors=True)


def test_demo_prints_graph_and_addresses(demo):
    assert "@backbone:" in demo
    assert "@site_cnaf:" in demo
    assert "@site_bari:" in demo
    for host, address in HOSTS.items():
        assert re.search(
            rf"^{DEMO_TEST_PREFIX}{host}\s+{host}\s+{DEMO_TEST_PREFIX}\w+ {re.escape(address)}$", demo, re.MULTILINE
        ), host


def test_demo_hosts_reach_each_other_across_sites(demo):
    for host in HOSTS:
        container = f"{DEMO_TEST_PREFIX}{host}"
        assert podman("exec", container, "systemctl", "is-system-running", check=False).stdout.strip() == "running"
        for peer, address in HOSTS.items():
            resolved = podman("exec", container, "getent", "hosts", f"{peer}.cloud.local.test").stdout.split()
            assert resolved[0] == address, (host, peer)
        podman("exec", container, "ping", "-c", "1", "-W", "3", "bari-1")


def test_demo_object_storage_serves_through_both_proxies(demo):
    key = (SECRETS / "swift/tempauth/admin_admin").read_text().split()[0]

    def swift(proxy):
        url = f"http://{HOSTS[proxy]}:8080/auth/v1.0"
        return swiftclient.Connection(authurl=url, user="admin:admin", key=key, auth_version="1", retries=0)

    swift("cnaf-1").put_container("demo")
    swift("cnaf-1").put_object("demo", "hello.txt", b"hello from CNAF")
    assert swift("bari-1").get_object("demo", "hello.txt")[1] == b"hello from CNAF"


def test_demo_mail_relay_accepts_authenticated_submission(demo):
    login = "jobs@cloud.local.test"
    password = (SECRETS / f"smtp_relay/accounts/{login}").read_text().split()[0]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the demo's certificate is self-signed
    with smtplib.SMTP(HOSTS["cnaf-2"], 587, timeout=20) as smtp:
        smtp.starttls(context=context)
        smtp.login(login, password)
        refused = smtp.sendmail(login, ["someone@example.invalid"], b"Subject: demo\r\n\r\nhello\r\n")
    assert refused == {}


def test_demo_every_backbone_roles_logs_reach_both_collectors(demo):
    """DNS, Swift (proxy and storage) and the mail relay log on their hosts; both collectors'
    stores have those lines (the mail of the test above included)."""
    expected = {("cnaf-1", "named"), ("bari-1", "named"), ("cnaf-1", "proxy-server"), ("bari-1", "proxy-server"),
                ("cnaf-3", "object-server"), ("cnaf-2", "postfix/submission/smtpd"), ("cnaf-2", "postfix/cleanup")}  # fmt: skip
    query = "SELECT DISTINCT host || ' ' || program FROM logs"
    for collector in ("cnaf-1", "bari-1"):
        deadline = time.monotonic() + 60
        while True:
            rows = podman(
                "exec", f"{DEMO_TEST_PREFIX}{collector}", "psql", "-U", "postgres", "-d", "logs", "-Atc", query
            ).stdout
            missing = expected - {tuple(row.split(" ", 1)) for row in rows.splitlines()}
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert missing == set(), f"not in {collector}'s log store: {sorted(missing)}"


def test_demo_service_answers_at_its_url(demo):
    document = json.loads((DEPLOYMENTS / "web.json").read_text())
    assert document["status"] == "CREATE_COMPLETE" and document["site"] == "cnaf"  # SLA priority 10
    url = document["outputs"]["url"]
    assert f"url: {url}" in demo
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read().decode().startswith("visits: ")


def test_second_demo_is_a_no_op(demo):
    again = make("demo")
    changed = recap(again)
    assert set(HOSTS) | {"localhost"} <= set(changed)
    assert {host: count for host, count in changed.items() if count} == {}


def test_demo_clean_leaves_nothing(demo):
    make("demo-clean")
    for kind in ("container", "network", "volume"):
        assert names(kind, DEMO_TEST_PREFIX) == [], kind
