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


def test_sites_run_side_by_side(tmp_path):
    # Each site waits until all eight have started: this only completes if they run at once.
    def job(index):
        (tmp_path / str(index)).touch()
        deadline = time.monotonic() + 10
        while len(list(tmp_path.iterdir())) < 8:
            if time.monotonic() > deadline:
                raise TimeoutError("the other sites never started")
            time.sleep(0.05)
        return index

    results = query_sites([(f"site{i}", 20, lambda i=i: job(i)) for i in range(8)])
    assert {name: result.value for name, result in results.items()} == {f"site{i}": i for i in range(8)}


def test_errors_are_per_site():
    def broken():
        raise SiteError("cannot connect to cloud 'x': refused")

    def buggy():
        raise KeyError("flavor")

    results = query_sites([("broken", 5, broken), ("buggy", 5, buggy), ("fine", 5, lambda: 1)])
    assert results["broken"].error == "cannot connect to cloud 'x': refused"
    assert results["buggy"].error == "KeyError: 'flavor'"
    assert results["fine"].ok


def test_max_workers_bounds_concurrency(tmp_path):
    def job(index):
        marker = tmp_path / str(index)
        marker.touch()
        time.sleep(0.3)
        running = len(list(tmp_path.iterdir()))
        marker.unlink()
        return running

    results = query_sites([(f"s{i}", 10, lambda i=i: job(i)) for i in range(6)], max_workers=2)
    assert max(result.value for result in results.values()) == 2


def test_a_hung_site_is_killed_not_left_behind():
    started = time.monotonic()
    results = query_sites([("hangs", 0.5, lambda: time.sleep(60))])
    assert results["hangs"].error == "no answer within 0.5s"
    assert time.monotonic() - started < 10
