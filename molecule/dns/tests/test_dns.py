"""What an operator and a project expect of the cloud's DNS, asked with real DNS traffic from
this machine to the two servers (dnspython), plus a look at the hosts."""

import json
import os
import pathlib
import re
import subprocess
import time
import uuid

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.xfr
import dns.zone
import pytest

from ansible_collections.infn.cloud.plugins.module_utils.dns_records import DnsError, Updater
from tests.common import run_in

ZONE = "cloud.test"
PRIMARY, SECONDARY = "10.99.22.10", "10.99.23.10"
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets/dns"
SCENARIO = pathlib.Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
NS1, NS2 = "infn-mol-dns-ns1", "infn-mol-dns-ns2"
testinfra_hosts = [NS1, NS2]


def key_parts(name):
    """(name, secret, algorithm) of one of the keys the role fetched to the controller."""
    text = (SECRETS / f"{name}.key").read_text()
    algorithm = re.search(r"algorithm\s+([\w-]+);", text).group(1)
    secret = re.search(r'secret\s+"([^"]+)";', text).group(1)
    return name, secret, algorithm


def key(name):
    """A keyring with one of the keys the role fetched to the controller."""
    name, secret, algorithm = key_parts(name)
    return dns.tsigkeyring.from_text({name: (algorithm, secret)}), name


def query(server, name, rdtype="A", recursive=False):
    message = dns.message.make_query(name, rdtype)
    if not recursive:
        message.flags &= ~dns.flags.RD
    return dns.query.udp(message, server, timeout=3)


def update(name, rdtype, value, keyname=None, zone=ZONE):
    message = dns.update.UpdateMessage(zone, keyring=key(keyname)[0] if keyname else None, keyname=keyname)
    message.replace(name, 60, rdtype, value)
    return dns.query.tcp(message, PRIMARY, timeout=5).rcode()


def answer(response):
    return sorted(rr.to_text() for rrset in response.answer for rr in rrset)


def test_both_servers_answer_for_the_zone_with_its_seed():
    for server in (PRIMARY, SECONDARY):
        soa = query(server, ZONE, "SOA")
        assert soa.rcode() == dns.rcode.NOERROR
        assert soa.flags & dns.flags.AA, server
        assert answer(query(server, f"www.{ZONE}")) == ["10.99.22.81"]
        assert answer(query(server, f"jupyter-42.paas.{ZONE}")) == ["10.99.22.80"]  # the PaaS wildcard
        assert answer(query(server, f"ns2.{ZONE}")) == [SECONDARY]


def test_zone_is_signed_on_both_servers():
    for server in (PRIMARY, SECONDARY):
        deadline = time.monotonic() + 30  # BIND signs the zone shortly after loading it
        while True:
            keys = query(server, ZONE, "DNSKEY")
            if keys.answer or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert keys.answer, f"no DNSKEY at {server}"
        signed = dns.message.make_query(f"www.{ZONE}", "A", want_dnssec=True)
        signed.flags &= ~dns.flags.RD
        response = dns.query.udp(signed, server, timeout=3)
        assert any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in response.answer), server


@pytest.mark.parametrize("project", ["cms", "atlas"])
def test_a_project_updates_its_subdomain_and_the_secondary_follows(project):
    value = f"10.99.22.{int(time.time()) % 200 + 20}"
    assert update(f"web.{project}.{ZONE}.", "A", value, f"{project}-cloud-test") == dns.rcode.NOERROR
    assert answer(query(PRIMARY, f"web.{project}.{ZONE}")) == [value]
    deadline = time.monotonic() + 5
    while answer(query(SECONDARY, f"web.{project}.{ZONE}")) != [value]:
        assert time.monotonic() < deadline, "the secondary did not follow within 5 s"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("project", "name"),
    [
        ("cms", f"x.atlas.{ZONE}."),
        ("atlas", f"x.cms.{ZONE}."),
        ("cms", f"{ZONE}."),
        ("atlas", f"{ZONE}."),
        ("cms", f"www.{ZONE}."),
        ("atlas", f"new.{ZONE}."),
    ],
)
def test_a_project_key_cannot_touch_other_names(project, name):
    """Another project's subdomain, the apex and the rest of the parent zone are refused, and stay as they were."""
    before = answer(query(PRIMARY, name, "TXT"))
    assert update(name, "TXT", '"hijack"', f"{project}-cloud-test") == dns.rcode.REFUSED
    assert answer(query(PRIMARY, name, "TXT")) == before


def test_unsigned_update_is_refused():
    assert update(f"web.cms.{ZONE}.", "A", "10.99.22.99") == dns.rcode.REFUSED


def test_the_admin_key_manages_the_whole_zone():
    assert update(f"portal.{ZONE}.", "A", "10.99.22.82", "cloud-test-admin") == dns.rcode.NOERROR


@pytest.mark.parametrize("server", [PRIMARY, SECONDARY])
def test_zone_transfer_without_key_is_refused(server):
    with pytest.raises(dns.xfr.TransferError) as refused:
        dns.zone.from_xfr(dns.query.xfr(server, ZONE, timeout=5))
    assert refused.value.rcode == dns.rcode.REFUSED


def test_zone_transfer_from_the_primary_with_the_transfer_key():
    keyring, keyname = key("cloud-test-transfer")
    zone = dns.zone.from_xfr(dns.query.xfr(PRIMARY, ZONE, keyring=keyring, keyname=keyname, timeout=5))
    assert "www" in [name.to_text() for name in zone.nodes]


def test_no_recursion_for_outside_names():
    for server in (PRIMARY, SECONDARY):
        assert query(server, "example.org", recursive=True).rcode() == dns.rcode.REFUSED


def test_keys_kept_private_on_the_controller():
    assert SECRETS.stat().st_mode & 0o777 == 0o700
    names = sorted(path.name for path in SECRETS.iterdir())
    assert names == sorted(
        f"{name}.key" for name in ("cloud-test-transfer", "cloud-test-admin", "cms-cloud-test", "atlas-cloud-test")
    )
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in SECRETS.iterdir())


def test_named_runs_and_logs_to_syslog(host):
    assert host.service("named").is_running
    assert host.service("named").is_enabled
    config = host.file("/etc/bind/named.conf.options")
    assert config.contains("recursion no;")
    assert config.contains("syslog daemon;")


def test_rerun_changes_nothing_and_never_shows_a_secret():
    """A verbose converge (-vvv) must change nothing and print no TSIG secret."""
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.environ["MOLECULE_PROJECT_DIRECTORY"] + "/build/collections"
    result = subprocess.run(
        [
            "ansible-playbook",
            "-vvv",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            str(SCENARIO / "converge.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"changed=0\s", result.stdout.split("PLAY RECAP")[1])
    for path in SECRETS.iterdir():
        secret = re.search(r'secret\s+"([^"]+)";', path.read_text()).group(1)
        assert secret not in result.stdout + result.stderr, path.name


def dns_record(tmp_path, records, check=False, verbose=False, **key):
    """Runs infn.cloud.dns_record once from a playbook; returns (its result, the run's output)."""
    result_file = tmp_path / "result.json"
    task = {"server": PRIMARY, "zone": ZONE, "records": records, **key}
    playbook = tmp_path / "records.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"infn.cloud.dns_record": task, "register": "out", "ignore_errors": True},
                        {
                            "ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(result_file)},
                            "check_mode": False,
                        },
                    ],
                }
            ]
        )
    )
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.environ["MOLECULE_PROJECT_DIRECTORY"] + "/build/collections"
    command = ["ansible-playbook", str(playbook), *(["--check"] if check else []), *(["-vvv"] if verbose else [])]
    run = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(result_file.read_text()), run.stdout + run.stderr


ADMIN = {"key_file": str(SECRETS / "cloud-test-admin.key")}
RUN = uuid.uuid4().hex[:6]  # names of this run: verify may run again on the same servers


def test_dns_record_batch_is_idempotent_and_served(tmp_path):
    records = [
        {"name": f"batch-1-{RUN}", "values": ["10.99.22.111"]},
        {"name": f"batch-2-{RUN}", "values": ["10.99.22.112", "10.99.22.113"], "ttl": 60},
        {"name": f"batch-txt-{RUN}", "type": "TXT", "values": ['"hello world"']},
    ]
    first, _output = dns_record(tmp_path, records, **ADMIN)
    assert first["changed"] is True
    assert answer(query(PRIMARY, f"batch-2-{RUN}.{ZONE}")) == ["10.99.22.112", "10.99.22.113"]
    again, _output = dns_record(tmp_path, records, **ADMIN)
    assert again["changed"] is False
    assert [record["changed"] for record in again["records"]] == [False, False, False]


def test_dns_record_check_mode_sends_nothing(tmp_path):
    result, _output = dns_record(
        tmp_path, [{"name": f"would-be-{RUN}", "values": ["10.99.22.120"]}], check=True, **ADMIN
    )
    assert result["changed"] is True
    assert query(PRIMARY, f"would-be-{RUN}.{ZONE}").rcode() == dns.rcode.NXDOMAIN


def test_dns_record_changes_values_and_removes(tmp_path):
    dns_record(tmp_path, [{"name": f"moving-{RUN}", "values": ["10.99.22.130"]}], **ADMIN)
    moved, _output = dns_record(tmp_path, [{"name": f"moving-{RUN}", "values": ["10.99.22.131"]}], **ADMIN)
    assert "records" in moved, moved
    (record,) = moved["records"]
    assert (record["before"]["values"], record["after"]["values"]) == (["10.99.22.130"], ["10.99.22.131"])
    removed, _output = dns_record(tmp_path, [{"name": f"moving-{RUN}", "state": "absent"}], **ADMIN)
    assert removed["changed"] is True
    assert query(PRIMARY, f"moving-{RUN}.{ZONE}").rcode() == dns.rcode.NXDOMAIN


def test_dns_record_names_the_records_and_key_when_refused(tmp_path):
    cms = {"key_file": str(SECRETS / "cms-cloud-test.key")}
    result, _output = dns_record(tmp_path, [{"name": "x.atlas", "values": ["10.99.22.5"]}], **cms)
    assert result["failed"] is True
    assert result["msg"] == (
        f"{PRIMARY} refused the update of x.atlas.{ZONE}. A with key 'cms-cloud-test': the key may not change these names"
    )


def test_dns_record_wrong_secret_is_a_clear_failure_and_never_printed(tmp_path):
    wrong = {"key_name": "cloud-test-admin", "key_secret": "d3Jvbmctc2VjcmV0LXZhbHVl"}
    result, output = dns_record(tmp_path, [{"name": "x", "values": ["10.99.22.5"]}], verbose=True, **wrong)
    assert result["failed"] is True
    assert result["msg"] == (
        f"{PRIMARY} rejected the update of zone {ZONE}. (BADSIG: it knows key 'cloud-test-admin'"
        " but not with this secret or algorithm)"
    )
    assert "d3Jvbmctc2VjcmV0LXZhbHVl" not in output


def test_dns_record_sent_to_the_secondary_names_the_primary(tmp_path):
    """The secondary does not know the update keys (BADKEY): the message says so and where to go."""
    name = f"to-ns2-{RUN}"
    result, _output = dns_record(tmp_path, [{"name": name, "values": ["10.99.22.5"]}], server=SECONDARY, **ADMIN)
    assert result["failed"] is True
    assert result["msg"] == (
        f"{SECONDARY} is a secondary of zone {ZONE}., which takes no updates (BADKEY: it does not know key"
        f" 'cloud-test-admin' with algorithm hmac-sha256); the zone's primary per its SOA is ns1.{ZONE}."
        f" ({PRIMARY}): send updates there (server: {PRIMARY})"
    )
    assert query(PRIMARY, f"{name}.{ZONE}").rcode() == dns.rcode.NXDOMAIN


def test_an_update_the_secondary_refuses_names_the_primary():
    """Signed with the one key the secondary knows, the update is REFUSED there: not a matter of the key's rights."""
    updater = Updater(SECONDARY, 53, 5, *key_parts("cloud-test-transfer"))
    records = updater.records(
        [{"name": f"to-ns2-{RUN}", "type": "A", "values": ["10.99.22.5"], "ttl": 60, "state": "present", "zone": None}],
        ZONE,
    )
    updater.read(records)
    with pytest.raises(DnsError) as refused:
        updater.apply(records)
    assert str(refused.value) == (
        f"{SECONDARY} is a secondary of zone {ZONE}., which takes no updates (REFUSED with key"
        f" 'cloud-test-transfer'); the zone's primary per its SOA is ns1.{ZONE}. ({PRIMARY}):"
        f" send updates there (server: {PRIMARY})"
    )


def test_dig_across_sites(host):
    """Each server's own dig (bind9-dnsutils) asks the other site's server."""
    other = SECONDARY if host.backend.get_hostname() == NS1 else PRIMARY
    assert host.check_output(f"dig +short +norec @{other} www.{ZONE} A") == "10.99.22.81"


def test_nsupdate_with_a_project_key():
    """BIND's own nsupdate, with the project key as the role installed it on the primary."""
    name = f"nsupdate-{RUN}.cms.{ZONE}"
    key_file = "/etc/bind/keys/cms-cloud-test.key"
    sent = run_in(
        NS1, "nsupdate", "-k", key_file, stdin=f"server {PRIMARY}\nupdate add {name} 60 A 10.99.22.77\nsend\n"
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert [r.address for r in query(PRIMARY, name).answer[0]] == ["10.99.22.77"]
    refused = run_in(
        NS1, "nsupdate", "-k", key_file, stdin=f"server {PRIMARY}\nupdate add x.atlas.{ZONE} 60 A 10.99.22.78\nsend\n"
    )
    assert refused.returncode != 0 and "REFUSED" in refused.stdout + refused.stderr


def test_dns_record_cname_and_mx_rerun_changes_nothing(tmp_path):
    """Names in values, relative to the zone or absolute, compare equal to what BIND serves."""
    records = [
        {"name": f"alias-{RUN}", "type": "CNAME", "values": ["www"]},
        {"name": f"alias-abs-{RUN}", "type": "CNAME", "values": [f"www.{ZONE}."]},
        {"name": f"mx1-{RUN}", "values": ["10.99.22.141"]},  # BIND refuses an MX whose target has no address
        {"name": f"mx2-{RUN}", "values": ["10.99.22.142"]},
        {"name": f"mail-{RUN}", "type": "MX", "values": [f"10 mx1-{RUN}", f"20 mx2-{RUN}.{ZONE}."]},
    ]
    first, _output = dns_record(tmp_path, records, **ADMIN)
    assert first["changed"] is True, first
    assert answer(query(PRIMARY, f"alias-{RUN}.{ZONE}", "CNAME")) == [f"www.{ZONE}."]
    assert answer(query(PRIMARY, f"mail-{RUN}.{ZONE}", "MX")) == [f"10 mx1-{RUN}.{ZONE}.", f"20 mx2-{RUN}.{ZONE}."]
    again, _output = dns_record(tmp_path, records, **ADMIN)
    assert [record["changed"] for record in again["records"]] == [False] * 5, again["records"]
    assert again["changed"] is False


def serial(server):
    """The zone's SOA serial on a server; None while it does not serve the zone."""
    try:
        response = query(server, ZONE, "SOA")
    except (dns.exception.Timeout, OSError):
        return None
    return response.answer[0][0].serial if response.answer else None


def test_the_secondary_catches_up_after_being_down():
    """Updates made while the secondary's named is stopped are served by it soon after it starts again."""
    names = [f"while-down-{n}-{RUN}.{ZONE}." for n in range(3)]
    run_in(NS2, "systemctl", "stop", "named", check=True)
    try:
        assert serial(SECONDARY) is None
        for n, name in enumerate(names):
            assert update(name, "A", f"10.99.22.{150 + n}", "cloud-test-admin") == dns.rcode.NOERROR
    finally:
        run_in(NS2, "systemctl", "start", "named", check=True)
    deadline = time.monotonic() + 60  # about 5 s after the start, with a load average of 24 on 2 CPUs
    while True:
        primary, secondary = serial(PRIMARY), serial(SECONDARY)
        served = [answer(query(SECONDARY, name)) for name in names] if secondary is not None else []
        if primary == secondary and served == [[f"10.99.22.{150 + n}"] for n in range(len(names))]:
            break
        assert time.monotonic() < deadline, f"after 60 s the secondary has serial {secondary}, the primary {primary}"
        time.sleep(0.5)
