"""dns_record's offline logic: key files, names relative to the zone, record checks, diff."""

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from ansible_collections.infn.cloud.plugins.module_utils.dns_records import (
    DnsError,
    Updater,
    diff_text,
    read_key_file,
)

KEY = 'key "cms-cloud-test" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=";\n};\n'


def spec(name, values=("192.0.2.1",), rdtype="A", state="present", zone=None):
    return {"name": name, "type": rdtype, "values": list(values), "ttl": 300, "state": state, "zone": zone}


def test_read_key_file(tmp_path):
    path = tmp_path / "cms.key"
    path.write_text(KEY)
    assert read_key_file(str(path)) == ("cms-cloud-test", "hmac-sha256", "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=")
    path.write_text("not a key")
    with pytest.raises(DnsError, match="is not a BIND key file"):
        read_key_file(str(path))
    with pytest.raises(DnsError, match="cannot read the key file"):
        read_key_file(str(tmp_path / "missing.key"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("www", "www.cloud.test."),
        ("@", "cloud.test."),
        ("web.cms.cloud.test", "web.cms.cloud.test."),
        ("web.cms.cloud.test.", "web.cms.cloud.test."),
        ("*.paas", "*.paas.cloud.test."),
    ],
)
def test_names_relative_to_the_zone(name, expected):
    (record,) = Updater("192.0.2.53", 53, 1).records([spec(name)], "cloud.test")
    assert record.name.to_text() == expected


def test_record_problems_name_the_record():
    updater = Updater("192.0.2.53", 53, 1)
    with pytest.raises(DnsError, match=r"records\[0\]: www.other.test. is not in zone cloud.test."):
        updater.records([spec("www.other.test.")], "cloud.test")
    with pytest.raises(DnsError, match=r"records\[0\] \(www A\): "):
        updater.records([spec("www", values=["not-an-address"])], "cloud.test")
    with pytest.raises(DnsError, match=r"records\[0\] \(www\): state=present needs values"):
        updater.records([spec("www", values=[])], "cloud.test")
    with pytest.raises(DnsError, match=r"no zone"):
        updater.records([spec("www")], None)


def test_bad_secret_is_named_without_showing_it():
    with pytest.raises(DnsError) as raised:
        Updater("192.0.2.53", 53, 1, "k", "!!not-base64!!", "hmac-sha256")
    assert "key 'k'" in str(raised.value)
    assert "!!not-base64!!" not in str(raised.value)


def test_diff_lists_only_changed_records():
    before, after = diff_text(
        [
            {
                "name": "a.cloud.test.",
                "type": "A",
                "changed": True,
                "before": {"exists": True, "ttl": 300, "values": ["192.0.2.1"]},
                "after": {"exists": True, "ttl": 60, "values": ["192.0.2.2"]},
            },
            {
                "name": "b.cloud.test.",
                "type": "A",
                "changed": False,
                "before": {"exists": True, "ttl": 300, "values": ["192.0.2.9"]},
                "after": {"exists": True, "ttl": 300, "values": ["192.0.2.9"]},
            },
        ]
    )
    assert before == "a.cloud.test. 300 IN A 192.0.2.1\n"
    assert after == "a.cloud.test. 60 IN A 192.0.2.2\n"


def test_a_silent_server_is_a_timeout_naming_the_record():
    import socket

    server = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        updater = Updater("127.0.0.1", server.getsockname()[1], 1)
        records = updater.records([spec("www")], "cloud.test")
        with pytest.raises(DnsError, match=r"no answer from 127.0.0.1:\d+ within 1s \(query of www.cloud.test. A\)"):
            updater.read(records)
    finally:
        server.close()


def served(name, rdtype, value):
    """The RRset as it comes back from a server: through the wire, with absolute names."""
    response = dns.message.make_response(dns.message.make_query(name, rdtype))
    response.answer.append(dns.rrset.from_text(name, 300, "IN", rdtype, value))
    return dns.message.from_wire(response.to_wire()).answer[0]


@pytest.mark.parametrize(
    ("rdtype", "wanted", "on_the_server"),
    [
        ("CNAME", "jupyter.cms", "jupyter.cms.cloud.test."),
        ("CNAME", "jupyter.cms.cloud.test.", "jupyter.cms.cloud.test."),
        ("CNAME", "www.example.org.", "www.example.org."),
        ("MX", "10 mail", "10 mail.cloud.test."),
        ("MX", "10 mail.cloud.test.", "10 mail.cloud.test."),
        ("SRV", "0 5 443 web.cms", "0 5 443 web.cms.cloud.test."),
        ("A", "192.0.2.1", "192.0.2.1"),
    ],
)
def test_values_with_names_match_what_the_server_serves(rdtype, wanted, on_the_server):
    """The server answers with absolute names: a value written relative to the zone is the same value."""
    (record,) = Updater("192.0.2.53", 53, 1).records([spec("www", values=[wanted], rdtype=rdtype)], "cloud.test")
    record.before = served("www.cloud.test.", rdtype, on_the_server)
    assert not record.changed
    assert record.result()["after"] == record.result()["before"]


def test_a_different_target_is_still_a_change():
    (record,) = Updater("192.0.2.53", 53, 1).records([spec("www", values=["web"], rdtype="CNAME")], "cloud.test")
    record.before = served("www.cloud.test.", "CNAME", "jupyter.cloud.test.")
    assert record.changed
    assert record.result()["after"]["values"] == ["web.cloud.test."]


def server_with(soa_primary, addresses):
    """An Updater whose server answers the zone's SOA and the addresses of the primary it names."""
    updater = Updater("192.0.2.54", 53, 1, "k", "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=", "hmac-sha256")

    def lookup(name, rdtype):
        if rdtype == dns.rdatatype.SOA:
            return dns.rrset.from_text("cloud.test.", 300, "IN", "SOA", f"{soa_primary} host.cloud.test. 1 2 3 4 5")
        wanted = [a for a in addresses if (":" in a) == (rdtype == dns.rdatatype.AAAA)]
        return dns.rrset.from_text(name, 300, "IN", dns.rdatatype.to_text(rdtype), *wanted) if wanted else None

    updater._lookup = lookup
    return updater, dns.name.from_text("cloud.test")


def test_an_update_sent_to_a_secondary_names_the_primary():

    updater, zone = server_with("ns1.cloud.test.", ["192.0.2.53", "2001:db8::53"])
    assert updater._key_rejected(dns.tsig.PeerBadKey(), zone) == (
        "192.0.2.54 is a secondary of zone cloud.test., which takes no updates (BADKEY: it does not know"
        " key 'k' with algorithm hmac-sha256); the zone's primary per its SOA is ns1.cloud.test."
        " (192.0.2.53, 2001:db8::53): send updates there (server: 192.0.2.53)"
    )


@pytest.mark.parametrize("addresses", [["192.0.2.54"], []], ids=["it is the primary", "primary unknown"])
def test_a_bad_key_at_the_primary_is_said_as_such(addresses):

    updater, zone = server_with("ns1.cloud.test.", addresses)
    assert updater._key_rejected(dns.tsig.PeerBadKey(), zone).startswith(
        "192.0.2.54 rejected the update of zone cloud.test. (BADKEY: it does not know key 'k' with algorithm"
        " hmac-sha256): check key_name and key_algorithm, or key_file"
    )
    assert updater._key_rejected(dns.tsig.PeerBadSignature(), zone) == (
        "192.0.2.54 rejected the update of zone cloud.test. (BADSIG: it knows key 'k' but not with this secret"
        " or algorithm)"
    )
