"""Prints every test skipped during `make test` and fails on any that tests/skips-allowed.txt
does not allow.

Usage: python3 tests/check_skips.py SKIP_LOG
SKIP_LOG holds the JSON lines written by tests/skip_report.py (INFN_SKIP_LOG). Exit 0 when
every skip is allowed, 1 when one is not, 2 when the allow-list itself is malformed.
"""

import fnmatch
import json
import pathlib
import sys

ALLOW_LIST = pathlib.Path(__file__).resolve().parent / "skips-allowed.txt"


def allowed_patterns(path=ALLOW_LIST):
    """[(pattern, why)] from the allow-list; every entry must say why after a '#'."""
    patterns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, _hash, why = line.partition("#")
        if not why.strip():
            raise ValueError(f"{path}:{number}: '{pattern.strip()}' says no reason: write '<pattern>  # why'")
        patterns.append((pattern.strip(), why.strip()))
    return patterns


def read_skips(path):
    """The skip records of the log, in order; a missing log means no skip."""
    log = pathlib.Path(path)
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def judge(skips, patterns):
    """(allowed, refused): the skip records split by the allow-list."""
    allowed, refused = [], []
    for skip in skips:
        match = any(fnmatch.fnmatchcase(skip["test"], pattern) for pattern, _why in patterns)
        (allowed if match else refused).append(skip)
    return allowed, refused


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        patterns = allowed_patterns()
    except ValueError as error:
        print(f"check_skips: {error}", file=sys.stderr)
        return 2
    allowed, refused = judge(read_skips(argv[1]), patterns)
    print(f"== skipped tests: {len(allowed) + len(refused)} ({len(refused)} not on {ALLOW_LIST.name})")
    for label, skips in (("allowed", allowed), ("NOT ALLOWED", refused)):
        for skip in skips:
            print(f"{label}: {skip['test']} ({skip['where']}): {skip['reason']}")
    if refused:
        print(f"check_skips: {len(refused)} test(s) skipped that {ALLOW_LIST} does not allow", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
