#!/usr/bin/env bash
# pytest, with its "no tests collected" exit code (5) turned into a clear failure: a suite
# folder that collects nothing is broken, never green.
set -uo pipefail
pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "run-pytest: no tests were collected from: $*" >&2
  exit 1
fi
exit "$rc"
