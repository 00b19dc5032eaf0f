#!/usr/bin/python
# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: log_search
short_description: Search the federation's central log store on a log collector
version_added: 0.1.0
author: infn.cloud developers (@infn-cloud)
description:
  - Searches the messages that the C(infn.cloud.logging) role collects into the PostgreSQL table
    C(logs) on a log collector host, by host, program, time, severity and words of the message.
  - Runs on the collector itself, with C(become), and by default reads the store over the local
    socket as the role C(log_reader), which peer authentication maps to the OS user C(root).
  - Returns the matching messages, newest first unless O(order=oldest), at most O(limit) of them.
  - Every filter given must match (and); a filter given a list matches any of its values (or).
  - Every bad option is reported at once, each naming the option, what was expected and what was given.
    Never changes anything.
attributes:
  check_mode:
    support: full
    description: The search runs in check mode too; it only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
options:
  database:
    description: The database of the log store.
    type: str
    default: logs
  host:
    description: Only messages from these hosts, as the sending hosts name themselves (exact names, any of them).
    type: list
    elements: str
  limit:
    description:
      - At most this many messages, 1 to 10000. RV(truncated) tells whether more matched.
    type: int
    default: 100
  login_host:
    description:
      - The server of the log store, a host name or address, or the folder of its unix socket
        (a path starting with C(/)).
    type: str
    default: /var/run/postgresql
  login_password:
    description:
      - Password of O(login_user). Not needed over the local socket, where peer authentication is used.
    type: str
  login_port:
    description: The server's port (over the socket, the number in the socket's name).
    type: int
    default: 5432
  login_user:
    description: The PostgreSQL role the search runs as; the C(infn.cloud.logging) role gives C(log_reader) read access.
    type: str
    default: log_reader
  order:
    description:
      - V(newest) gives the most recent messages first, V(oldest) the earliest first; both by the time the
        sending host logged them, then by arrival in the store.
      - With O(limit), V(newest) gives the last messages that match and V(oldest) the first ones.
    type: str
    default: newest
  program:
    description: Only messages of these programs (syslog tag, such as C(sshd) or C(named)), exact names, any of them.
    type: list
    elements: str
  severity:
    description:
      - The least severe level to include; messages of this severity and more severe ones match.
      - A syslog severity name, V(emerg), V(alert), V(crit), V(err), V(warning), V(notice), V(info) or V(debug)
        (also V(emergency), V(panic), V(critical), V(error), V(warn)), or its number, 0 (emerg) to 7 (debug).
    type: raw
  since:
    description:
      - Only messages from this time on (included).
      - Either an ISO 8601 time such as V(2025-05-01T08:00:00+02:00) or V(2025-05-01 06:00), without a zone
        meaning UTC, or an age, that long before now, such as V(90s), V(15m), V(2h), V(7d), V(1w) or V(1d12h).
      - Compared with the time chosen by O(time_field).
    type: str
  text:
    description:
      - Words to find in the host name, program and message, in PostgreSQL's web search syntax
        (C(websearch_to_tsquery)). Words must all appear, in any order; V("quoted words") must appear
        in that order; V(or) between words matches either; V(-word) excludes messages with it.
      - Whole words only, not case sensitive; C(ssh) does not match C(sshd).
    type: str
  time_field:
    description:
      - Which time O(since) and O(until) filter on. V(reported) is when the sending host logged the
        message (its clock); V(received) is when the store received it (the collector's clock).
    type: str
    default: reported
  until:
    description:
      - Only messages before this time (excluded); an ISO 8601 time or an age, as O(since).
    type: str
notes:
  - The collector keeps the messages of every host of the federation; C(log_reader) can only read them.
requirements:
  - psycopg2 on the collector (Debian C(python3-psycopg2)).
seealso:
  - name: PostgreSQL web search syntax
    description: The syntax of O(text).
    link: https://www.postgresql.org/docs/15/textsearch-controls.html#TEXTSEARCH-PARSING-QUERIES
"""

EXAMPLES = r"""
- name: Failed SSH logins of the last hour on two hosts
  infn.cloud.log_search:
    host: [ui-01, ui-02]
    program: [sshd]
    since: 1h
    text: '"failed password" -invalid'
  become: true
  delegate_to: "{{ groups['log_collector'] | first }}"
  register: failed_logins

- name: Errors and worse of one day, oldest first
  infn.cloud.log_search:
    severity: err
    since: "2025-05-01T00:00:00+02:00"
    until: "2025-05-02T00:00:00+02:00"
    order: oldest
    limit: 1000
  become: true

- name: What arrived late in the last 10 minutes, whenever the hosts logged it
  infn.cloud.log_search:
    time_field: received
    since: 10m
  become: true
"""

RETURN = r"""
count:
  description: How many messages RV(rows) has.
  returned: success
  type: int
  sample: 2
problems:
  description: Every problem found, in the shape RV(infn.cloud.tosca#module:problems) describes (null C(file), C(line), C(column) for an option).
  returned: failure, when an option is wrong
  type: list
  elements: dict
  sample: [{file: null, line: null, column: null, path: limit, message: "expected 1 to 10000; got 0"}]
query:
  description: The search in words (its filters, order and limit), to show with the results.
  returned: success
  type: str
  sample: "host ui-01 or ui-02; program sshd; reported at or after 2025-05-01T08:00:00+00:00 (1h ago);
    text matching '\"failed password\" -invalid'; newest first by reported time, at most 100"
rows:
  description: The messages found, in the order asked for.
  returned: success
  type: list
  elements: dict
  contains:
    facility:
      description: The syslog facility's name (its number if it has none).
      type: str
      sample: authpriv
    from_ip:
      description: The address the message came from, null if not known.
      type: str
      sample: 10.99.1.21
    host:
      description: The sending host's name.
      type: str
      sample: ui-01
    message:
      description: The message.
      type: str
      sample: Failed password for root from 192.0.2.7 port 50522 ssh2
    program:
      description: The program that logged it.
      type: str
      sample: sshd
    received_at:
      description: When the store received it, ISO 8601 in UTC.
      type: str
      sample: "2025-05-01T08:12:03.120455+00:00"
    reported_at:
      description: When the sending host logged it, ISO 8601 in UTC.
      type: str
      sample: "2025-05-01T08:12:03.004000+00:00"
    severity:
      description: The syslog severity's name, V(emerg) to V(debug).
      type: str
      sample: info
truncated:
  description: Whether more messages matched than RV(rows) holds (more than O(limit)).
  returned: success
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.infn.cloud.plugins.module_utils.log_search import HAS_PSYCOPG2, LogSearchError, search_logs


def main():
    # order and time_field have no choices here: search_logs checks them, so that a wrong value is
    # reported together with every other bad option instead of alone.
    module = AnsibleModule(
        argument_spec={
            "database": {"type": "str", "default": "logs"},
            "host": {"type": "list", "elements": "str"},
            "limit": {"type": "int", "default": 100},
            "login_host": {"type": "str", "default": "/var/run/postgresql"},
            "login_password": {"type": "str", "no_log": True},
            "login_port": {"type": "int", "default": 5432},
            "login_user": {"type": "str", "default": "log_reader"},
            "order": {"type": "str", "default": "newest"},
            "program": {"type": "list", "elements": "str"},
            "severity": {"type": "raw"},
            "since": {"type": "str"},
            "text": {"type": "str"},
            "time_field": {"type": "str", "default": "reported"},
            "until": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        reason = "to read the log store (Debian python3-psycopg2, which infn.cloud.logging installs on collectors)"
        module.fail_json(msg=missing_required_lib("psycopg2", reason=reason))
    try:
        result = search_logs(module.params)
    except LogSearchError as error:
        module.fail_json(**error.result())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
