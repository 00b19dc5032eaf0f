"""dns_record's offline logic: key files, names relative to the zone, record checks, diff."""

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
