"""What an operator expects of infn.cloud.common on two backbone sites."""

import time

import pytest

SITES = {
    "infn-mol-cnaf-1": {"address": "10.99.20.10", "peer": "infn-mol-bari-1", "peer_address": "10.99.21.10"},
    "infn-mol-bari-1": {"address": "10.99.21.10", "peer": "infn-mol-cnaf-1", "peer_address": "10.99.20.10"},
}


@pytest.fixture
def site(host):
    return SITES[host.backend.get_hostname()]


def test_systemd_booted_cleanly(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    failed = host.run("systemctl --failed --no-legend --plain").stdout
    assert state == "running", f"system is {state}; failed units:\n{failed}"


def test_layered_packages_installed(host):
    expected = ["chrony", "curl", "dnsutils"]
    if host.backend.get_hostname() == "infn-mol-bari-1":
        expected.append("jq")  # common_group_packages of site_bari only
    else:
        assert not host.package("jq").is_installed
    for name in expected:
        assert host.package(name).is_installed, name


def test_hostname(host):
    assert host.check_output("hostname") == host.backend.get_hostname()


def test_federation_hosts_resolve_by_fqdn(host, site):
    entry = host.check_output(f"getent hosts {site['peer']}.cloud.test").split()
    assert entry[0] == site["peer_address"]
    assert host.check_output(f"getent hosts {site['peer']}").split()[0] == site["peer_address"]


def test_peer_site_reachable_by_name(host, site):
    assert host.run(f"ping -c 1 -W 3 {site['peer']}.cloud.test").rc == 0


def test_chrony_runs_without_owning_the_clock(host):
    chrony = host.service("chrony")
    assert chrony.is_running
    assert chrony.is_enabled
    assert "-x" in host.check_output("ps -o args= -C chronyd")


def test_time_served_across_sites(host, site):
    # The peer site is this host's only time source: chrony must reach it over NTP.
    for _attempt in range(30):
        sources = host.check_output("chronyc -n -c sources")
        line = next((row for row in sources.splitlines() if site["peer_address"] in row), None)
        assert line, f"{site['peer_address']} is not a chrony source:\n{sources}"
        reach = int(line.split(",")[5], 8)
        if reach:
            return
        time.sleep(1)
    pytest.fail(f"{site['peer_address']} never answered NTP: {line}")


def test_journald_hook(host):
    dropin = host.file("/etc/systemd/journald.conf.d/50-infn-cloud.conf")
    assert dropin.contains("^ForwardToSyslog=no$")
    assert dropin.contains("^Storage=persistent$")
    assert host.service("systemd-journald").is_running
    assert host.file("/var/log/journal").is_directory
