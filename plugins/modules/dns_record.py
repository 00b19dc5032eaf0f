#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_record
short_description: DNS records managed by signed dynamic update, many in one call
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Makes RRsets present with exactly the given values and TTL, or absent, on an authoritative
    server that accepts dynamic updates (RFC 2136) signed with TSIG, such as the C(infn.cloud.dns) primary.
  - Reads every RRset first and sends only what differs; all the changes of one zone go in one
    UPDATE message, each guarded by a prerequisite that its RRset is still what was read, so a
    concurrent change fails the task instead of being overwritten and nothing is half-applied.
  - Server answers (REFUSED, NOTAUTH, NOTZONE, timeouts, unknown keys, bad signatures) fail the task
    with a message naming the records and the key; sent to a secondary, the update fails with a
    message naming the zone's primary (from the zone's SOA) to send it to instead.
attributes:
  check_mode:
    support: full
    description: Reads the server and reports what would change; sends no update.
  diff_mode:
    support: full
    description: Zone-file lines of the changed RRsets before and after.
options:
  server:
    description: Address of the authoritative server; the zone's primary (secondaries take no updates).
    type: str
    required: true
  port:
    description: Server port.
    type: int
    default: 53
  zone:
    description: Zone of the records that do not name their own.
    type: str
  key_name:
    description: TSIG key name. Without a key, updates are sent unsigned (servers refuse them).
    type: str
  key_secret:
    description: TSIG secret (base64).
    type: str
  key_algorithm:
    description: TSIG algorithm.
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1]
  key_file:
    description:
      - A BIND key file (as C(tsig-keygen) writes it) to take the key name, algorithm and secret from.
      - C(infn.cloud.dns) keeps the zone's keys on the controller as
        C(<secrets folder>/dns/<key name>.key), the secrets folder being C(infn_cloud_secrets_dir),
        else C(<inventory folder>.secrets) (beside the inventory folder, not in it). Key names
        are C(<project>-<zone>) (a project's subdomain) and C(<zone>-admin) (any name of the
        zone), with the zone's dots as dashes.
    type: path
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 10
  records:
    description: The RRsets to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Owner name, relative to the zone (C(www), C(@) for the apex) or absolute
            (C(www.cloud.infn.it) or C(www.cloud.infn.it.)).
        type: str
        required: true
      type:
        description: Record type.
        type: str
        default: A
      values:
        description: The RRset's values, in zone-file syntax; the RRset becomes exactly these.
        type: list
        elements: str
        default: []
      ttl:
        description: TTL of the RRset.
        type: int
        default: 300
      state:
        description: C(present) (exactly O(records[].values)) or C(absent) (the whole RRset).
        type: str
        choices: [present, absent]
        default: present
      zone:
        description: Zone of this record, when it is not O(zone).
        type: str
requirements:
  - dnspython >= 2.0
"""

EXAMPLES = r"""
- name: Publish a project's services, in one signed update
  infn.cloud.dns_record:
    server: 192.0.2.20
    zone: cloud.infn.it
    key_file: "{{ infn_cloud_secrets_dir | default(inventory_dir ~ '.secrets') }}/dns/cms-cloud-infn-it.key"
    records:
      - {name: jupyter.cms, values: [192.0.2.90]}
      - {name: www.cms, type: CNAME, values: [jupyter.cms.cloud.infn.it.]}
      - {name: old.cms, state: absent}
  delegate_to: localhost
"""

RETURN = r"""
records:
  description: One entry per managed record, with what the server had and what it has now.
  returned: always
  type: list
  elements: dict
  sample:
    - name: jupyter.cms.cloud.infn.it.
      zone: cloud.infn.it.
      type: A
      state: present
      changed: true
      before: {exists: false}
      after: {exists: true, ttl: 300, values: [192.0.2.90]}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.infn.cloud.plugins.module_utils.dns_records import (
    HAS_DNSPYTHON,
    DnsError,
    Updater,
    diff_text,
    read_key_file,
)

RECORD_SPEC = {
    "name": {"type": "str", "required": True},
    "type": {"type": "str", "default": "A"},
    "values": {"type": "list", "elements": "str", "default": []},
    "ttl": {"type": "int", "default": 300},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "zone": {"type": "str"},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "server": {"type": "str", "required": True},
            "port": {"type": "int", "default": 53},
            "zone": {"type": "str"},
            "key_name": {"type": "str"},
            "key_secret": {"type": "str", "no_log": True},
            "key_algorithm": {
                "type": "str",
                "default": "hmac-sha256",
                "choices": ["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1"],
            },
            "key_file": {"type": "path"},
            "timeout": {"type": "float", "default": 10},
            "records": {"type": "list", "elements": "dict", "required": True, "options": RECORD_SPEC},
        },
        mutually_exclusive=[("key_file", "key_name"), ("key_file", "key_secret")],
        required_together=[("key_name", "key_secret")],
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    params = module.params
    try:
        key_name, key_algorithm, key_secret = params["key_name"], params["key_algorithm"], params["key_secret"]
        if params["key_file"]:
            key_name, key_algorithm, key_secret = read_key_file(params["key_file"])
        updater = Updater(params["server"], params["port"], params["timeout"], key_name, key_secret, key_algorithm)
        records = updater.records(params["records"], params["zone"])
        updater.read(records)
        if not module.check_mode:
            updater.apply(records)
    except DnsError as error:
        module.fail_json(msg=str(error))
    results = [record.result() for record in records]
    changed = any(result["changed"] for result in results)
    response = {"changed": changed, "records": results}
    if module._diff and changed:
        before, after = diff_text(results)
        response["diff"] = {"before": before, "after": after}
    module.exit_json(**response)


if __name__ == "__main__":
    main()
