"""What an operator expects of central logging, checked on real rsyslog and PostgreSQL: messages
logged on a host reach both collectors' files and stores, nothing is lost or doubled while a
collector's rsyslog, its database or its whole host is down, the store answers searches through
infn.cloud.log_search, rows and per-host files older than the retention are forgotten, and only
holders of the logging CA's certificates may send."""

import contextlib
import json
import os
import pathlib
import re
import socket
import ssl
import subprocess
import time
import uuid

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.podman_nsenter import ContainerUnreachable
from tests.common import run_in

COLLECTOR_A, COLLECTOR_B, CLIENT = "infn-mol-log-collector-a", "infn-mol-log-collector-b", "infn-mol-log-client"
COLLECTORS = (COLLECTOR_A, COLLECTOR_B)
ADDRESS_A, CLIENT_ADDRESS = "10.99.60.10", "10.99.60.11"
RETENTION_DAYS = 7
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets" / "logging"
SCENARIO = pathlib.Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


def on_host(host, *command, check=True, stdin=None):
    return run_in(host, *command, stdin=stdin, check=check)


def sql(collector, query):
    """Rows of a query on a collector's store, as lists of strings."""
    out = on_host(collector, "psql", "-U", "postgres", "-d", "logs", "-At", "-F", "\t", "-c", query).stdout
    return [line.split("\t") for line in out.splitlines()]


def count(collector, where):
    return int(sql(collector, f"SELECT count(*) FROM logs WHERE {where}")[0][0])


def wait_for(description, predicate, timeout):
    """Polls predicate until true; fails naming what did not happen and after how long."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"{description}: not within {timeout} s")


def ansible_env():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.environ["MOLECULE_PROJECT_DIRECTORY"] + "/build/collections"
    return env


def log_search(collector, **options):
    """infn.cloud.log_search run on a collector, as an operator would (ad hoc); its result."""
    env = ansible_env()
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run(
        ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], collector, "-m", "infn.cloud.log_search",
         "-a", json.dumps(options)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    try:
        output = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{") :])[0]
        return output["plays"][0]["tasks"][0]["hosts"][collector]
    except (ValueError, LookupError):
        pytest.fail(f"log_search gave no result:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")


def token():
    return f"token{uuid.uuid4().hex}"


def test_a_message_reaches_both_collectors_files_and_stores():
    mark = token()
    on_host(CLIENT, "logger", "-p", "daemon.warning", "-t", "billing", f"invoice run {mark} finished")
    for collector in COLLECTORS:
        wait_for(f"{mark} in {collector}'s store", lambda c=collector: count(c, f"message LIKE '%{mark}%'") == 1, 30)
        [row] = sql(collector, f"SELECT host, program, host(from_ip), facility, severity, message FROM logs "
                               f"WHERE message LIKE '%{mark}%'")  # fmt: skip
        # Sent from the client's own address (sites see each other's addresses, as on the backbone).
        assert row == [CLIENT, "billing", CLIENT_ADDRESS, "3", "4", f"invoice run {mark} finished"]
        stored = on_host(collector, "cat", f"/var/log/remote/{CLIENT}/billing.log").stdout
        assert f"invoice run {mark} finished" in stored


def test_a_collectors_own_messages_reach_the_other_collector():
    mark = token()
    on_host(COLLECTOR_B, "logger", "-t", "collector-self", mark)
    wait_for(f"{mark} from {COLLECTOR_B} in {COLLECTOR_A}'s store",
             lambda: count(COLLECTOR_A, f"host = '{COLLECTOR_B}' AND message = '{mark}'") == 1, 30)  # fmt: skip


def test_quotes_backslashes_and_bad_utf8_are_stored():
    mark = token()
    text = f'it\'s {mark} C:\\path\\to and "quoted"'
    on_host(CLIENT, "logger", "-t", "quoting", text)
    on_host(CLIENT, "sh", "-c", f"printf '{mark}-bytes \\377\\376 end\\n' | logger -t quoting")
    wait_for("both odd messages in the store", lambda: count(COLLECTOR_A, f"message LIKE '%{mark}%'") == 2, 30)
    messages = [
        row[0] for row in sql(COLLECTOR_A, f"SELECT message FROM logs WHERE message LIKE '%{mark}%' ORDER BY id")
    ]
    assert messages[0] == text
    # The invalid bytes are replaced, not a reason to drop the message (PostgreSQL takes UTF-8 only).
    assert messages[1].startswith(f"{mark}-bytes ") and messages[1].endswith(" end")


def numbers_at(collector, mark):
    return sorted(
        int(row[0].rsplit(" ", 1)[1])
        for row in sql(collector, f"SELECT message FROM logs WHERE message LIKE '{mark} %'")
    )


def test_log_search_finds_a_message_by_text_and_host():
    mark = token()
    on_host(CLIENT, "logger", "-t", "searchable", f"disk quota exceeded for project {mark}")
    on_host(COLLECTOR_B, "logger", "-t", "searchable", f"disk quota exceeded for project {mark}")
    wait_for("both messages in A's store", lambda: count(COLLECTOR_A, f"message LIKE '%{mark}%'") == 2, 60)
    result = log_search(COLLECTOR_A, text=f"quota {mark}", host=[CLIENT], since="10m")
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert [(row["host"], row["program"], row["message"]) for row in result["rows"]] == [
        (CLIENT, "searchable", f"disk quota exceeded for project {mark}")
    ]
    both = log_search(COLLECTOR_A, text=f'"quota exceeded" {mark}', program=["searchable"], severity="notice")
    assert sorted(row["host"] for row in both["rows"]) == sorted([COLLECTOR_B, CLIENT])
    assert log_search(COLLECTOR_A, text=f"{mark} -quota")["rows"] == []
    limited = log_search(COLLECTOR_A, text=mark, limit=1)
    assert (limited["count"], limited["truncated"]) == (1, True)


@contextlib.contextmanager
def collector_a_down_while_the_client_logs(mark):
    """Collector A stopped, 1,000 numbered messages logged on the client and stored by B; A is
    started again when the block ends."""
    on_host(COLLECTOR_A, "systemctl", "stop", "rsyslog")
    try:
        on_host(CLIENT, "sh", "-c", f"seq -f '{mark} message %g' 1000 | logger -t numbered")
        wait_for("the 1,000 messages at the collector that is up",
                 lambda: count(COLLECTOR_B, f"message LIKE '{mark} %'") == 1000, 120)  # fmt: skip
        yield
    finally:
        on_host(COLLECTOR_A, "systemctl", "start", "rsyslog")


def test_nothing_lost_or_doubled_while_a_collector_is_down():
    """Collector A stopped, 1,000 numbered messages logged on the client, A started again: A and
    B each hold every message exactly once."""
    mark = token()
    with collector_a_down_while_the_client_logs(mark):
        time.sleep(2)
        assert count(COLLECTOR_A, f"message LIKE '{mark} %'") == 0
    took = wait_for("the backlog at the collector that was down",
                    lambda: count(COLLECTOR_A, f"message LIKE '{mark} %'") >= 1000, 180)  # fmt: skip
    print(f"collector A received the 1,000 queued messages {took:.1f} s after it started")
    time.sleep(3)  # anything sent twice would be here by now
    for collector in COLLECTORS:
        assert numbers_at(collector, mark) == list(range(1, 1001)), f"{collector}: missing or doubled messages"


def test_a_sender_restarted_while_a_collector_is_down_keeps_its_backlog():
    """As above, with the client's rsyslog restarted during the outage: its queue for A is saved
    to disk and sent when A is back. rsyslog 8.2302 drops the few messages its action was
    retrying at that moment (rsyslog/rsyslog#2710): they are the first of the outage, and B,
    which was up, holds them (docs/logging.md)."""
    mark = token()
    with collector_a_down_while_the_client_logs(mark):
        on_host(CLIENT, "systemctl", "restart", "rsyslog")
        queued = on_host(CLIENT, "sh", "-c", "ls /var/spool/rsyslog/ | grep -c '^infn_logging_to_infn_mol_log_collector_a'",
                         check=False).stdout.strip()  # fmt: skip
        assert int(queued or 0) > 0, "the client's queue for the stopped collector was not saved to disk"
    wait_for("the saved backlog at the collector that was down",
             lambda: count(COLLECTOR_A, f"message = '{mark} message 1000'") == 1, 180)  # fmt: skip
    time.sleep(3)
    at_a, at_b = numbers_at(COLLECTOR_A, mark), numbers_at(COLLECTOR_B, mark)
    assert at_b == list(range(1, 1001))
    first = at_a[0] if at_a else 1001
    print(f"collector A lost the first {first - 1} message(s) of the outage to the restart")
    assert at_a == list(range(first, 1001)), "collector A is missing messages after the first ones, or has some twice"
    assert first - 1 <= 128, "more than one batch of the client's queue was lost"


def stored_at(collector, mark):
    """How many of the numbered messages a collector's store holds; 0 while it cannot answer
    (a host booting, PostgreSQL starting)."""
    try:
        return count(collector, f"message LIKE '{mark} %'")
    except (subprocess.CalledProcessError, ContainerUnreachable, IndexError, ValueError):
        return 0


def test_nothing_lost_or_doubled_while_a_collectors_database_is_down():
    """PostgreSQL stopped on collector A, its rsyslog still receiving, 1,000 numbered messages
    logged on the client: B stores them meanwhile, A keeps them in its store's queue (and its
    files), and once PostgreSQL is back A's store holds every one exactly once."""
    mark = token()
    on_host(COLLECTOR_A, "systemctl", "stop", "postgresql")
    try:
        on_host(CLIENT, "sh", "-c", f"seq -f '{mark} message %g' 1000 | logger -t numbered")
        wait_for("the 1,000 messages in the store of the collector whose database is up",
                 lambda: count(COLLECTOR_B, f"message LIKE '{mark} %'") == 1000, 120)  # fmt: skip
        in_file = f"grep -c '{mark} message ' /var/log/remote/{CLIENT}/numbered.log || true"
        wait_for("the 1,000 messages in the per-host file of the collector whose database is down",
                 lambda: on_host(COLLECTOR_A, "sh", "-c", in_file).stdout.strip() == "1000", 60)  # fmt: skip
    finally:
        on_host(COLLECTOR_A, "systemctl", "start", "postgresql")
    took = wait_for("the backlog in the store that was down", lambda: stored_at(COLLECTOR_A, mark) >= 1000, 120)
    print(f"collector A's store had the 1,000 queued messages {took:.1f} s after PostgreSQL started")
    time.sleep(3)  # anything inserted twice would be here by now
    for collector in COLLECTORS:
        assert numbers_at(collector, mark) == list(range(1, 1001)), f"{collector}: missing or doubled messages"


def podman(*arguments):
    subprocess.run(["podman", *arguments], capture_output=True, text=True, check=True, timeout=120)


def test_nothing_lost_or_doubled_while_a_collector_host_is_down():
    """The whole host of collector A stopped (podman stop) while the client logs 1,000 numbered
    messages: B stores them meanwhile, the client's queue for A holds them, and when A has booted
    again its store holds every one exactly once."""
    mark = token()
    podman("stop", COLLECTOR_A)
    try:
        on_host(CLIENT, "sh", "-c", f"seq -f '{mark} message %g' 1000 | logger -t numbered")
        wait_for("the 1,000 messages at the collector that is up",
                 lambda: count(COLLECTOR_B, f"message LIKE '{mark} %'") == 1000, 120)  # fmt: skip
    finally:
        podman("start", COLLECTOR_A)
    took = wait_for("the backlog at the collector host that was down",
                    lambda: stored_at(COLLECTOR_A, mark) >= 1000, 240)  # fmt: skip
    print(f"collector A stored the 1,000 queued messages {took:.1f} s after its host started")
    time.sleep(3)
    for collector in COLLECTORS:
        assert numbers_at(collector, mark) == list(range(1, 1001)), f"{collector}: missing or doubled messages"


def test_log_search_names_a_bad_option():
    result = log_search(COLLECTOR_A, since="yesterday", severity="loud")
    assert result["failed"] is True
    assert "since" in result["msg"] and "yesterday" in result["msg"]
    assert "severity" in result["msg"] and "loud" in result["msg"]
    assert "Traceback" not in json.dumps(result)


def test_the_retention_job_removes_rows_older_than_the_retention():
    mark = token()
    for collector in COLLECTORS:
        sql(collector, f"INSERT INTO logs (msg_id, received_at, reported_at, host, program, facility, severity, message) "
                       f"SELECT gen_random_uuid(), now() - make_interval(days => d), now() - make_interval(days => d), "
                       f"'old-host', 'aged', 1, 6, '{mark} ' || d FROM unnest(ARRAY[1, {RETENTION_DAYS - 1}, "
                       f"{RETENTION_DAYS + 1}, 400]) AS d")  # fmt: skip
    kept_before = count(COLLECTOR_A, f"message NOT LIKE '{mark} %'")
    timer = on_host(COLLECTOR_A, "systemctl", "show", "-p", "ActiveState", "-p", "UnitFileState",
                    "infn-logging-retention.timer").stdout  # fmt: skip
    assert "ActiveState=active" in timer and "UnitFileState=enabled" in timer
    on_host(COLLECTOR_A, "systemctl", "start", "infn-logging-retention.service")
    kept = sorted(
        int(row[0].split()[1]) for row in sql(COLLECTOR_A, f"SELECT message FROM logs WHERE message LIKE '{mark} %'")
    )
    assert kept == [1, RETENTION_DAYS - 1]
    assert count(COLLECTOR_A, f"message NOT LIKE '{mark} %'") >= kept_before
    # Only the collector whose job ran has forgotten them.
    assert count(COLLECTOR_B, f"message LIKE '{mark} %'") == 4


def test_the_retention_removes_per_host_files_older_than_the_retention():
    """The collector's daily jobs (logrotate's and the role's retention job), run for real on
    per-host files with old modification times: whatever was last written more than
    logging_retention_days ago goes, live file or rotated, and a host's folder with it once
    empty; anything newer stays."""
    mark = token()
    day = 24 * 3600
    files = {
        # A host that stopped logging: its live file and a rotated one, both older than the retention.
        f"/var/log/remote/gone-{mark}/app.log": RETENTION_DAYS + 1,
        f"/var/log/remote/gone-{mark}/app.log.2.gz": RETENTION_DAYS + 3,
        # A host still logging: today's file, and rotated files within and beyond the retention.
        f"/var/log/remote/live-{mark}/app.log": 0,
        f"/var/log/remote/live-{mark}/app.log.1": RETENTION_DAYS - 1,
        f"/var/log/remote/live-{mark}/app.log.9.gz": RETENTION_DAYS + 2,
    }
    now = time.time()
    script = "".join(
        f"mkdir -p $(dirname {path}) && echo line > {path} && touch -d @{int(now - age * day)} {path}\n"
        for path, age in files.items()
    )
    on_host(COLLECTOR_A, "sh", "-ec", script)
    for unit in ("logrotate.timer", "infn-logging-retention.timer"):
        state = on_host(COLLECTOR_A, "systemctl", "show", "-p", "UnitFileState", unit).stdout
        assert "UnitFileState=enabled" in state, f"{unit}: {state}"
    for unit in ("logrotate.service", "infn-logging-retention.service"):
        on_host(COLLECTOR_A, "systemctl", "start", unit)
    left = on_host(COLLECTOR_A, "sh", "-c", f"ls -d /var/log/remote/*-{mark} /var/log/remote/*-{mark}/*",
                   check=False).stdout.split()  # fmt: skip
    assert sorted(left) == [f"/var/log/remote/live-{mark}", f"/var/log/remote/live-{mark}/app.log",
                            f"/var/log/remote/live-{mark}/app.log.1"]  # fmt: skip
    on_host(COLLECTOR_A, "rm", "-rf", f"/var/log/remote/live-{mark}")


def tls_hello(context):
    offer = b"relp_version=0\nrelp_software=probe\ncommands=syslog"
    with (
        socket.create_connection((ADDRESS_A, 2514), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="collector") as tls,
    ):
        tls.sendall(b"1 open %d %s\n" % (len(offer), offer))
        return tls.recv(200)


def test_a_sender_without_a_certificate_of_the_logging_ca_is_refused():
    context = ssl.create_default_context(cafile=str(SECRETS / "ca.pem"))
    context.check_hostname = False
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        answer = tls_hello(context)
        if not answer:
            raise ConnectionError("closed")
    # The same hello with a host's certificate is answered: the refusal above is about the certificate.
    context.load_cert_chain(str(SECRETS / "hosts" / f"{CLIENT}.pem"), str(SECRETS / "hosts" / f"{CLIENT}.key"))
    assert tls_hello(context).startswith(b"1 rsp")


def test_keys_stay_private_on_the_controller_and_the_hosts():
    files = [path for path in SECRETS.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"ca.key", "ca.pem", f"{CLIENT}.key", f"{COLLECTOR_A}.key"}
    assert [path.name for path in files if path.stat().st_mode & 0o077] == []
    assert SECRETS.stat().st_mode & 0o777 == 0o700
    for host in (CLIENT, COLLECTOR_A):
        assert on_host(host, "stat", "-c", "%a %U", "/etc/ssl/infn-logging/host.key").stdout.split() == [
            "600",
            "root",
        ]
        # The hosts never hold the CA's key.
        assert on_host(host, "test", "-e", "/etc/ssl/infn-logging/ca.key", check=False).returncode == 1


def run_converge(*extra):
    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"), *extra],
        capture_output=True, text=True, env=ansible_env(), check=False,
    )  # fmt: skip


def recap(output):
    return dict(re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", output.split("PLAY RECAP")[-1], re.M))


def test_a_bad_retention_is_refused_before_anything_changes():
    result = run_converge("-e", "logging_retention_days=0")
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "logging_retention_days a whole number of days >= 1 (given: 0)" in output
    assert set(recap(result.stdout).values()) == {"0"}, result.stdout[-2000:]


def test_rerun_changes_nothing_and_never_shows_a_secret():
    """A verbose converge (-vvv) must change nothing on any host and print no private key."""
    result = run_converge("-vvv")
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result.stdout) == {CLIENT: "0", COLLECTOR_A: "0", COLLECTOR_B: "0"}
    keys = {path.name: path.read_text() for path in SECRETS.rglob("*.key")}
    bodies = {name: "".join(key.strip().splitlines()[1:-1])[:64] for name, key in keys.items()}
    output = "".join((result.stdout + result.stderr).split())
    assert [name for name, body in bodies.items() if body in output] == []
