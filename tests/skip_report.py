"""Every skipped test, recorded for `make test`'s skip check (tests/check_skips.py).

The pytest hooks below are imported by tests/conftest.py and molecule/conftest.py, so the unit,
integration and Molecule verifier runs all report. When INFN_SKIP_LOG names a file, each skip
(at collection, in a fixture or in the test) appends one JSON line to it: the test's id, where
the skip was raised and why. Without INFN_SKIP_LOG nothing is written.
"""

import json
import os

SKIP_LOG = "INFN_SKIP_LOG"


def skip_record(nodeid, longrepr, xfail_reason=None):
    """{"test", "where", "reason"} of one skip; longrepr is pytest's (path, line from 1, "Skipped: why")."""
    if xfail_reason is not None:
        return {"test": nodeid, "where": nodeid.split("::")[0], "reason": f"xfail: {xfail_reason}"}
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, message = longrepr
        return {"test": nodeid, "where": f"{_relative(path)}:{line}", "reason": message.removeprefix("Skipped: ")}
    return {"test": nodeid, "where": nodeid.split("::")[0], "reason": str(longrepr)}


def _relative(path):
    """The path relative to the working directory when it lies under it (the checkout)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _record(record):
    path = os.environ.get(SKIP_LOG)
    if not path:
        return
    # One short write in append mode: the parallel jobs of `make test` share the file.
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def pytest_runtest_logreport(report):
    if report.skipped:
        _record(skip_record(report.nodeid, report.longrepr, getattr(report, "wasxfail", None)))


def pytest_collectreport(report):
    if report.skipped:
        _record(skip_record(report.nodeid, report.longrepr))
