"""Sites are queried concurrently; one slow or broken site costs only its own timeout."""

import threading
import time

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import SiteError
from ansible_collections.infn.cloud.plugins.module_utils.sites import query_sites


def test_a_hanging_site_costs_only_its_own_timeout():
    release = threading.Event()
    started = time.monotonic()
    results = query_sites(
        [
            ("hangs", 0.5, lambda: release.wait(30)),
            ("fast", 5, lambda: "ok"),
            ("slow-but-in-time", 5, lambda: time.sleep(0.3) or "late"),
        ]
    )
    elapsed = time.monotonic() - started
    release.set()
    assert results["hangs"].error == "no answer within 0.5s"
    assert results["fast"].value == "ok"
    assert results["slow-but-in-time"].value == "late"
    assert elapsed < 10  # the hanging call alone would take 30 s


def test_sites_run_side_by_side():
    # Each site waits for all the others: this only completes if all eight run at once.
    everyone = threading.Barrier(8, timeout=10)
    results = query_sites([(f"site{i}", 20, everyone.wait) for i in range(8)])
    assert all(result.ok for result in results.values()), results


def test_errors_are_per_site():
    def broken():
        raise SiteError("cannot connect to cloud 'x': refused")

    def buggy():
        raise KeyError("flavor")

    results = query_sites([("broken", 5, broken), ("buggy", 5, buggy), ("fine", 5, lambda: 1)])
    assert results["broken"].error == "cannot connect to cloud 'x': refused"
    assert results["buggy"].error == "KeyError: 'flavor'"
    assert results["fine"].ok


def test_max_workers_bounds_concurrency():
    running, peak, lock = [0], [0], threading.Lock()

    def job():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return True

    results = query_sites([(f"s{i}", 5, job) for i in range(6)], max_workers=2)
    assert peak[0] == 2
    assert len(results) == 6
