"""log_search without a database: option checks, times, severities, the SQL and its parameters,
the description, rows, and the messages of database failures (through a stand-in psycopg2)."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from ansible_collections.infn.cloud.plugins.module_utils import log_search
from ansible_collections.infn.cloud.plugins.module_utils.log_search import (
    LogSearchError,
    Search,
    build_query,
    describe,
    parse_search,
    parse_severity,
    parse_time,
    row_to_dict,
    search_logs,
)

NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)
COLUMNS = "reported_at, received_at, host, host(from_ip), program, facility, severity, message"
CONNECTION = {
    "database": "logs",
    "login_user": "log_reader",
    "login_host": "/var/run/postgresql",
    "login_port": 5432,
    "login_password": None,
}


def params(**options):
    return {"limit": 100, "order": "newest", "time_field": "reported", **CONNECTION, **options}


def problems_of(**options):
    with pytest.raises(LogSearchError) as raised:
        parse_search(params(**options), NOW)
    return [str(problem) for problem in raised.value.problems], str(raised.value)


@pytest.mark.parametrize(
    ("value", "before_now"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 0s ", timedelta(0)),
    ],
)
def test_ages_count_back_from_now(value, before_now):
    assert parse_time(value, NOW) == NOW - before_now


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-05-01T08:00:00+02:00", datetime(2025, 5, 1, 6, 0, tzinfo=UTC)),
        ("2025-05-01T06:00:00Z", datetime(2025, 5, 1, 6, 0, tzinfo=UTC)),
        ("2025-05-01T06:00:00", datetime(2025, 5, 1, 6, 0, tzinfo=UTC)),
        ("2025-05-01 06:00", datetime(2025, 5, 1, 6, 0, tzinfo=UTC)),
        ("2025-05-01", datetime(2025, 5, 1, tzinfo=UTC)),
        ("2025-05-01T06:00:00.250-01:30", datetime(2025, 5, 1, 7, 30, 0, 250000, tzinfo=UTC)),
    ],
)
def test_iso_times_without_a_zone_are_utc(value, expected):
    assert parse_time(value, NOW) == expected


@pytest.mark.parametrize("value", ["yesterday", "", "15M", "2 h", "h", "-2h", "2025-13-01", "1.5h", None, 3600])
def test_times_refused(value):
    assert parse_time(value, NOW) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("emerg", 0),
        ("panic", 0),
        ("Emergency", 0),
        ("alert", 1),
        ("crit", 2),
        ("critical", 2),
        ("err", 3),
        ("error", 3),
        ("WARNING", 4),
        ("warn", 4),
        ("notice", 5),
        ("info", 6),
        ("debug", 7),
        (0, 0),
        (7, 7),
        ("3", 3),
    ],
)
def test_severity_names_aliases_and_numbers(value, expected):
    assert parse_severity(value) == expected


@pytest.mark.parametrize("value", ["fatal", "", "8", "-1", 8, -1, True, 3.0, ["err"]])
def test_severities_refused(value):
    assert parse_severity(value) is None


def test_defaults_search_everything():
    search = parse_search(params(), NOW)
    assert search == Search()
    assert build_query(search) == (
        f"SELECT {COLUMNS} FROM logs ORDER BY reported_at DESC, id DESC LIMIT %s",
        [101],
    )
    assert describe(search) == "every message; newest first by reported time, at most 100"


def test_every_filter_becomes_a_parameter():
    search = parse_search(
        params(
            host=["ui-01", "ui-02"],
            program=["sshd"],
            since="2h",
            until="2025-05-01T11:30:00",
            text='"failed password" -invalid',
            severity="warning",
            limit=10,
            order="oldest",
        ),
        NOW,
    )
    sql, values = build_query(search)
    assert sql == (
        f"SELECT {COLUMNS} FROM logs WHERE host = ANY(%s) AND program = ANY(%s) AND reported_at >= %s "
        "AND reported_at < %s AND severity <= %s AND search @@ websearch_to_tsquery('simple', %s) "
        "ORDER BY reported_at ASC, id ASC LIMIT %s"
    )
    assert values == [
        ["ui-01", "ui-02"],
        ["sshd"],
        datetime(2025, 5, 1, 10, 0, tzinfo=UTC),
        datetime(2025, 5, 1, 11, 30, tzinfo=UTC),
        4,
        '"failed password" -invalid',
        11,
    ]
    assert describe(search) == (
        "host ui-01 or ui-02; program sshd; severity warning or more severe; "
        "reported at or after 2025-05-01T10:00:00+00:00 (2h ago); reported before 2025-05-01T11:30:00+00:00; "
        "text matching '\"failed password\" -invalid'; oldest first by reported time, at most 10"
    )


def test_received_time_filters_on_arrival_but_orders_by_reported_time():
    search = parse_search(params(time_field="received", since="10m"), NOW)
    sql, values = build_query(search)
    assert "WHERE received_at >= %s ORDER BY reported_at DESC, id DESC" in sql
    assert values == [NOW - timedelta(minutes=10), 101]
    assert describe(search).startswith("received at or after 2025-05-01T11:50:00+00:00 (10m ago); ")


def test_values_never_reach_the_sql():
    hostile = "x'); DROP TABLE logs; --"
    search = parse_search(params(host=[hostile], program=[hostile], text=hostile), NOW)
    sql, values = build_query(search)
    assert hostile not in sql
    assert "DROP" not in sql
    assert values.count(hostile) == 1


def test_every_bad_option_at_once():
    problems, message = problems_of(
        since="yesterday",
        until="soon",
        severity="fatal",
        limit=0,
        host=["ui-01", ""],
        text="  ",
        order="latest",
        time_field="logged",
    )
    assert problems == [
        "host: expected a list of non-empty names; got ['ui-01', '']",
        "since: expected an ISO 8601 time or an age such as 15m, 2h, 7d; got 'yesterday'",
        "until: expected an ISO 8601 time or an age such as 15m, 2h, 7d; got 'soon'",
        "text: expected words to search for; got '  '",
        "severity: expected a syslog severity, one of emerg, alert, crit, err, warning, notice, info, debug "
        "(or emergency, panic, critical, error, warn) or 0 to 7; got 'fatal'",
        "limit: expected 1 to 10000; got 0",
        "time_field: expected one of reported, received; got 'logged'",
        "order: expected one of newest, oldest; got 'latest'",
    ]
    assert message.startswith("8 problems in the search options:\nhost: ")


def test_one_problem_is_the_whole_message():
    assert problems_of(since="yesterday")[1] == (
        "the search options: since: expected an ISO 8601 time or an age such as 15m, 2h, 7d; got 'yesterday'"
    )


@pytest.mark.parametrize("limit", [0, 10001, -5, True])
def test_limit_range(limit):
    assert problems_of(limit=limit)[0] == [f"limit: expected 1 to 10000; got {limit!r}"]


def test_until_must_follow_since():
    assert problems_of(since="1h", until="2h")[0] == [
        "until: expected a time after since (2025-05-01T11:00:00+00:00); got '2h' (2025-05-01T10:00:00+00:00)"
    ]


def test_empty_lists_filter_nothing():
    assert build_query(parse_search(params(host=[], program=None), NOW))[1] == [101]


def row(facility=10, severity=6, from_ip="10.99.1.21"):
    rome = timezone(timedelta(hours=2))
    return (
        datetime(2025, 5, 1, 10, 12, 3, 4000, tzinfo=rome),
        datetime(2025, 5, 1, 8, 12, 3, 120455, tzinfo=UTC),
        "ui-01",
        from_ip,
        "sshd",
        facility,
        severity,
        "Failed password for root",
    )


def test_rows_have_utc_times_and_syslog_names():
    assert row_to_dict(row()) == {
        "reported_at": "2025-05-01T08:12:03.004000+00:00",
        "received_at": "2025-05-01T08:12:03.120455+00:00",
        "host": "ui-01",
        "from_ip": "10.99.1.21",
        "program": "sshd",
        "facility": "authpriv",
        "severity": "info",
        "message": "Failed password for root",
    }


@pytest.mark.parametrize(
    ("facility", "name"),
    [(0, "kern"), (2, "mail"), (3, "daemon"), (9, "cron"), (16, "local0"), (23, "local7"), (24, 24)],
)
def test_facility_names(facility, name):
    assert row_to_dict(row(facility=facility))["facility"] == name


def test_unknown_severity_and_address():
    converted = row_to_dict(row(severity=9, from_ip=None))
    assert (converted["severity"], converted["from_ip"]) == (9, None)


# ---------------------------------------------------------------------------------------------
# search_logs against a stand-in psycopg2.


class FakeError(Exception):
    def __init__(self, message, pgcode=None):
        super().__init__(message)
        self.pgcode = pgcode


class FakeCursor:
    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, values):
        self.connection.executed.append((sql, values))
        if self.connection.failure:
            raise self.connection.failure

    def fetchall(self):
        return self.connection.rows


class FakeConnection:
    def __init__(self, rows=(), failure=None):
        self.rows, self.failure = list(rows), failure
        self.executed, self.session, self.closed = [], {}, False

    def set_session(self, **options):
        self.session = options

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


@pytest.fixture
def database(monkeypatch):
    """A stand-in psycopg2 whose connect gives ``state.connection`` or raises ``state.refusal``."""
    state = SimpleNamespace(connection=FakeConnection(), refusal=None, arguments=None)

    def connect(**arguments):
        state.arguments = arguments
        if state.refusal:
            raise state.refusal
        return state.connection

    monkeypatch.setattr(log_search, "psycopg2", SimpleNamespace(connect=connect, Error=FakeError), raising=False)
    return state


def test_search_reads_only_and_marks_truncated(database):
    database.connection = FakeConnection(rows=[row(), row(), row()])
    result = search_logs(params(limit=2, severity="err"), NOW)
    assert (result["count"], result["truncated"]) == (2, True)
    assert [found["host"] for found in result["rows"]] == ["ui-01", "ui-01"]
    assert result["query"] == "severity err or more severe; newest first by reported time, at most 2"
    assert database.connection.session == {"readonly": True}
    assert database.connection.executed[0][1] == [3, 3]
    assert database.connection.closed
    assert database.arguments == {
        "dbname": "logs",
        "user": "log_reader",
        "host": "/var/run/postgresql",
        "port": 5432,
        "connect_timeout": 10,
        "application_name": "infn.cloud.log_search",
    }


def test_all_rows_fit(database):
    database.connection = FakeConnection(rows=[row()])
    result = search_logs(params(), NOW)
    assert (result["count"], result["truncated"]) == (1, False)


def test_password_is_passed_when_given(database):
    search_logs(params(login_host="127.0.0.1", login_password="s3cret"), NOW)
    assert database.arguments["password"] == "s3cret"


def test_bad_options_fail_before_connecting(database):
    with pytest.raises(LogSearchError):
        search_logs(params(since="yesterday"), NOW)
    assert database.arguments is None


@pytest.mark.parametrize(
    ("connection", "store"),
    [
        ({}, "database logs as log_reader on /var/run/postgresql"),
        ({"login_port": 5433}, "database logs as log_reader on /var/run/postgresql (port 5433)"),
        ({"login_host": "127.0.0.1", "login_user": "ops"}, "database logs as ops on 127.0.0.1:5432"),
        ({"login_host": "::1", "database": "archive"}, "database archive as log_reader on [::1]:5432"),
    ],
)
def test_connection_failure_names_the_store_and_hints(database, connection, store):
    database.refusal = FakeError(
        'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
        'FATAL:  Peer authentication failed for user "log_reader"\nsecond line\n'
    )
    with pytest.raises(LogSearchError) as raised:
        search_logs(params(**connection), NOW)
    assert str(raised.value) == (
        f"cannot connect to the log store ({store}): connection to server on socket "
        '"/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  Peer authentication failed for user "log_reader"; '
        "the module must run on a log collector (infn.cloud.logging with logging_collector true) with become: true, "
        "where root reads the store as log_reader over the local socket"
    )


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            FakeError('relation "logs" does not exist\nLINE 1: ...', "42P01"),
            "no log table in database logs: is this host a log collector (infn.cloud.logging with logging_collector true)?",
        ),
        (
            FakeError("permission denied for table logs\n", "42501"),
            "cannot search the log store (database logs as log_reader on /var/run/postgresql): "
            "permission denied for table logs",
        ),
    ],
    ids=["missing table asks whether this is a collector", "other failures name the store"],
)
def test_query_failures_are_explained_and_close_the_connection(database, failure, message):
    database.connection = FakeConnection(failure=failure)
    with pytest.raises(LogSearchError) as raised:
        search_logs(params(), NOW)
    assert str(raised.value) == message
    assert database.connection.closed
