# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Searches the central log store, the PostgreSQL table ``logs`` the ``infn.cloud.logging``
role fills on collector hosts.

The pure part (``parse_search``, ``build_query``, ``describe``, ``row_to_dict``) works on plain
values, so it is tested without a database. ``search_logs`` connects with psycopg2, runs the
query read-only and turns every database failure into a ``LogSearchError`` for the operator.
Values only ever reach the SQL as psycopg2 parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import ProblemsError, option_problem

try:
    import psycopg2

    HAS_PSYCOPG2 = True
except ImportError:
    HAS_PSYCOPG2 = False

# Syslog numbers (RFC 5424), named as rsyslog names them.
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
SEVERITY_ALIASES = {"emergency": 0, "panic": 0, "critical": 2, "error": 3, "warn": 4}
FACILITIES = (
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "audit",
    "alert",
    "clock",
    *(f"local{number}" for number in range(8)),
)

TIME_COLUMNS = {"reported": "reported_at", "received": "received_at"}
ORDERS = {"newest": "DESC", "oldest": "ASC"}
MAX_LIMIT = 10000
AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
AGE = re.compile(r"(?:[0-9]+[smhdw])+")
AGE_PART = re.compile(r"([0-9]+)([smhdw])")
UNDEFINED_TABLE = "42P01"
COLUMNS = (
    "reported_at",
    "received_at",
    "host",
    # host() drops the /32 or /128 that inet's text form would carry.
    "host(from_ip)",
    "program",
    "facility",
    "severity",
    "message",
)
COLLECTOR_HINT = (
    "the module must run on a log collector (infn.cloud.logging with logging_collector true) "
    "with become: true, where root reads the store as log_reader over the local socket"
)


class LogSearchError(ProblemsError):
    """Every problem with the search options, or why the store could not be searched."""

    def __init__(self, problems: list | None = None, message: str = ""):
        super().__init__("the search options" if problems else "", problems, message)


@dataclass
class Search:
    """A checked search: what ``build_query`` and ``describe`` take."""

    hosts: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    # What since and until were given as, for the description ("2h" stays "2h ago").
    since_text: str | None = None
    until_text: str | None = None
    time_field: str = "reported"
    text: str | None = None
    severity: int | None = None
    limit: int = 100
    order: str = "newest"


# ---------------------------------------------------------------------------------------------
# Pure logic: options in, a Search and its SQL out.


def parse_time(value, now: datetime) -> datetime | None:
    """An ISO 8601 time (UTC when it has no zone), or an age such as ``15m`` or ``1d12h`` before
    now; None when it is neither."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if AGE.fullmatch(text):
        seconds = sum(int(number) * AGE_UNITS[unit] for number, unit in AGE_PART.findall(text))
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse_severity(value) -> int | None:
    """A syslog severity as its number 0 (emerg) to 7 (debug), from a name, an alias or a number;
    None when it is none of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in SEVERITIES:
            return SEVERITIES.index(text)
        if text in SEVERITY_ALIASES:
            return SEVERITY_ALIASES[text]
        if not text.isdigit():
            return None
        value = int(text)
    if isinstance(value, int) and 0 <= value < len(SEVERITIES):
        return value
    return None


def severity_name(number: int):
    return SEVERITIES[number] if 0 <= number < len(SEVERITIES) else number


def facility_name(number: int):
    return FACILITIES[number] if 0 <= number < len(FACILITIES) else number


def _names(problems: list, option: str, values) -> list[str]:
    names = list(values or [])
    if any(not isinstance(name, str) or not name.strip() for name in names):
        problems.append(option_problem(option, f"expected a list of non-empty names; got {names!r}"))
        return []
    return [name.strip() for name in names]


def parse_search(params: dict, now: datetime | None = None) -> Search:
    """Checks the search options, all of them before failing; ``now`` is an aware datetime."""
    now = now or datetime.now(UTC)
    problems: list = []
    search = Search(
        hosts=_names(problems, "host", params.get("host")),
        programs=_names(problems, "program", params.get("program")),
        time_field=params.get("time_field") or "reported",
        order=params.get("order") or "newest",
    )
    for option in ("since", "until"):
        value = params.get(option)
        if value is None:
            continue
        moment = parse_time(value, now)
        if moment is None:
            problems.append(
                option_problem(option, f"expected an ISO 8601 time or an age such as 15m, 2h, 7d; got {value!r}")
            )
            continue
        setattr(search, option, moment)
        setattr(search, f"{option}_text", value.strip())
    if search.since and search.until and search.since >= search.until:
        problems.append(
            option_problem(
                "until",
                f"expected a time after since ({_utc(search.since)}); got {search.until_text!r} ({_utc(search.until)})",
            )
        )
    text = params.get("text")
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            problems.append(option_problem("text", f"expected words to search for; got {text!r}"))
        else:
            search.text = text.strip()
    severity = params.get("severity")
    if severity is not None:
        search.severity = parse_severity(severity)
        if search.severity is None:
            problems.append(
                option_problem(
                    "severity",
                    f"expected a syslog severity, one of {', '.join(SEVERITIES)} "
                    f"(or {', '.join(SEVERITY_ALIASES)}) or 0 to 7; got {severity!r}",
                )
            )
    limit = params.get("limit", 100)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        problems.append(option_problem("limit", f"expected 1 to {MAX_LIMIT}; got {limit!r}"))
    else:
        search.limit = limit
    if search.time_field not in TIME_COLUMNS:
        problems.append(
            option_problem("time_field", f"expected one of {', '.join(TIME_COLUMNS)}; got {search.time_field!r}")
        )
    if search.order not in ORDERS:
        problems.append(option_problem("order", f"expected one of {', '.join(ORDERS)}; got {search.order!r}"))
    if problems:
        raise LogSearchError(problems)
    return search


def build_query(search: Search) -> tuple[str, list]:
    """The SELECT and its parameters; it fetches one row more than the limit, to tell whether
    there were more. Only fixed column names are written into the SQL."""
    conditions, values = [], []
    if search.hosts:
        conditions.append("host = ANY(%s)")
        values.append(search.hosts)
    if search.programs:
        conditions.append("program = ANY(%s)")
        values.append(search.programs)
    column = TIME_COLUMNS[search.time_field]
    if search.since is not None:
        conditions.append(f"{column} >= %s")
        values.append(search.since)
    if search.until is not None:
        conditions.append(f"{column} < %s")
        values.append(search.until)
    if search.severity is not None:
        conditions.append("severity <= %s")
        values.append(search.severity)
    if search.text is not None:
        conditions.append("search @@ websearch_to_tsquery('simple', %s)")
        values.append(search.text)
    direction = ORDERS[search.order]
    sql = f"SELECT {', '.join(COLUMNS)} FROM logs"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY reported_at {direction}, id {direction} LIMIT %s"
    values.append(search.limit + 1)
    return sql, values


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _moment(moment: datetime, given: str | None) -> str:
    text = _utc(moment)
    return f"{text} ({given} ago)" if given and AGE.fullmatch(given) else text


def describe(search: Search) -> str:
    """The search in words, for the operator: the filters, the order and the limit."""
    filters = []
    if search.hosts:
        filters.append("host " + " or ".join(search.hosts))
    if search.programs:
        filters.append("program " + " or ".join(search.programs))
    if search.severity is not None:
        level = SEVERITIES[search.severity]
        filters.append(f"severity {level} or more severe" if search.severity else "severity emerg")
    if search.since is not None:
        filters.append(f"{search.time_field} at or after {_moment(search.since, search.since_text)}")
    if search.until is not None:
        filters.append(f"{search.time_field} before {_moment(search.until, search.until_text)}")
    if search.text is not None:
        filters.append(f"text matching {search.text!r}")
    first = "newest" if search.order == "newest" else "oldest"
    return f"{'; '.join(filters) or 'every message'}; {first} first by reported time, at most {search.limit}"


def row_to_dict(row) -> dict:
    """One row of ``COLUMNS`` as the module returns it: times as ISO 8601 in UTC, syslog numbers
    as their names."""
    reported_at, received_at, host, from_ip, program, facility, severity, message = row
    return {
        "reported_at": _utc(reported_at),
        "received_at": _utc(received_at),
        "host": host,
        "from_ip": from_ip,
        "program": program,
        "facility": facility_name(facility),
        "severity": severity_name(severity),
        "message": message,
    }


# ---------------------------------------------------------------------------------------------
# The database: psycopg2 does the work.


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def _store(params: dict) -> str:
    """``database logs as log_reader on /var/run/postgresql``, the store as the operator set it."""
    host, port = params["login_host"], params["login_port"]
    if host.startswith("/"):
        where = host if port == 5432 else f"{host} (port {port})"
    else:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"database {params['database']} as {params['login_user']} on {where}"


def connection_arguments(params: dict) -> dict:
    arguments = {
        "dbname": params["database"],
        "user": params["login_user"],
        "host": params["login_host"],
        "port": params["login_port"],
        "connect_timeout": 10,
        "application_name": "infn.cloud.log_search",
    }
    if params.get("login_password"):
        arguments["password"] = params["login_password"]
    return arguments


def search_logs(params: dict, now: datetime | None = None) -> dict:
    """Checks the options, runs the search read-only and returns the module's result."""
    search = parse_search(params, now)
    sql, values = build_query(search)
    store = _store(params)
    try:
        connection = psycopg2.connect(**connection_arguments(params))
    except psycopg2.Error as error:
        raise LogSearchError(
            message=f"cannot connect to the log store ({store}): {_first_line(error)}; {COLLECTOR_HINT}"
        ) from None
    try:
        connection.set_session(readonly=True)
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
    except psycopg2.Error as error:
        if getattr(error, "pgcode", None) == UNDEFINED_TABLE:
            message = (
                f"no log table in database {params['database']}: is this host a log collector "
                "(infn.cloud.logging with logging_collector true)?"
            )
        else:
            message = f"cannot search the log store ({store}): {_first_line(error)}"
        raise LogSearchError(message=message) from None
    finally:
        connection.close()
    truncated = len(rows) > search.limit
    result_rows = [row_to_dict(row) for row in rows[: search.limit]]
    return {"rows": result_rows, "count": len(result_rows), "truncated": truncated, "query": describe(search)}
