"""`make test`'s skip check: every skip is recorded with where and why, and a skip that the
allow-list does not name fails the run."""

import json
import os
import subprocess
import sys
import textwrap

from tests.check_skips import ALLOW_LIST, allowed_patterns, judge
from tests.common import REPO

SUITE = """
    import pytest

    @pytest.fixture
    def site():
        pytest.skip("the site did not start")

    def test_runs():
        pass

    def test_needs_site(site):
        pass

    @pytest.mark.skipif(True, reason="not on this machine")
    def test_marked():
        pass

    def test_inside():
        pytest.skip("decided at run time")

    @pytest.mark.xfail(reason="known bug 12")
    def test_known_bug():
        assert False
"""


def run_suite(tmp_path, source):
    """Runs a small pytest suite with the skip report on; its skip records."""
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(source))
    log = tmp_path / "skips.jsonl"
    env = {**os.environ, "INFN_SKIP_LOG": str(log), "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.skip_report", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
    )
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_every_kind_of_skip_is_recorded_with_where_and_why(tmp_path):
    records = {record["test"].split("::")[-1]: record for record in run_suite(tmp_path, SUITE)}
    assert sorted(records) == ["test_inside", "test_known_bug", "test_marked", "test_needs_site"]
    assert records["test_needs_site"]["reason"] == "the site did not start"
    assert records["test_needs_site"]["where"].endswith("test_suite.py:11")  # pytest names the test, not the fixture
    assert records["test_inside"]["where"] == "test_suite.py:19"
    assert records["test_marked"]["reason"] == "not on this machine"
    assert records["test_known_bug"]["reason"] == "xfail: known bug 12"


def test_a_module_skipped_at_collection_is_recorded(tmp_path):
    records = run_suite(tmp_path, 'import pytest\npytest.skip("no corpus here", allow_module_level=True)\n')
    assert [(record["test"], record["reason"]) for record in records] == [("test_suite.py", "no corpus here")]


def test_no_log_without_the_variable(tmp_path):
    (tmp_path / "test_suite.py").write_text('import pytest\n\ndef test_x():\n    pytest.skip("why")\n')
    env = {key: value for key, value in os.environ.items() if key != "INFN_SKIP_LOG"}
    env["PYTHONPATH"] = str(REPO)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.skip_report", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
    )
    assert sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".jsonl") == []


def test_the_allow_list_is_short_and_says_why():
    patterns = allowed_patterns()
    assert 0 < len(patterns) <= 10
    assert all(why for _pattern, why in patterns)


def test_an_entry_without_a_reason_is_refused(tmp_path):
    allow = tmp_path / "allow.txt"
    allow.write_text("# header\ntests/unit/test_x.py::test_y\n")
    try:
        allowed_patterns(allow)
    except ValueError as error:
        assert str(error) == f"{allow}:2: 'tests/unit/test_x.py::test_y' says no reason: write '<pattern>  # why'"
    else:
        raise AssertionError("an allow-list entry without a reason was accepted")


def test_judge_splits_by_pattern():
    skips = [{"test": "tests/a.py::test_one"}, {"test": "tests/a.py::test_two"}, {"test": "tests/b.py::test_x"}]
    allowed, refused = judge(skips, [("tests/a.py::*", "why")])
    assert [skip["test"] for skip in allowed] == ["tests/a.py::test_one", "tests/a.py::test_two"]
    assert [skip["test"] for skip in refused] == ["tests/b.py::test_x"]


def test_the_check_prints_every_skip_and_fails_on_one_not_allowed(tmp_path):
    allowed_test = allowed_patterns()[0][0]
    log = tmp_path / "skips.jsonl"
    records = [
        {"test": allowed_test, "where": "x.py:3", "reason": "Swift installed here"},
        {"test": "tests/integration/test_x.py::test_site", "where": "tests/integration/site.py:9", "reason": "no site"},
    ]
    log.write_text("".join(json.dumps(record) + "\n" for record in records))
    check = [sys.executable, str(REPO / "tests/check_skips.py"), str(log)]
    refused = subprocess.run(check, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert f"allowed: {allowed_test} (x.py:3): Swift installed here" in refused.stdout
    assert (
        "NOT ALLOWED: tests/integration/test_x.py::test_site (tests/integration/site.py:9): no site" in refused.stdout
    )
    assert f"1 test(s) skipped that {ALLOW_LIST} does not allow" in refused.stderr

    log.write_text(json.dumps(records[0]) + "\n")
    assert subprocess.run(check, capture_output=True, text=True, check=False).returncode == 0
    log.unlink()
    passed = subprocess.run(check, capture_output=True, text=True, check=False)
    assert passed.returncode == 0 and "skipped tests: 0" in passed.stdout
