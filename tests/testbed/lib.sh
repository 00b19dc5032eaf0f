# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared settings for the test bed scripts; sourced, never run.
# Every object the project makes carries the prefix and the label below, so that
# cleanup.sh removes exactly those and nothing else on the machine.
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$TESTBED_DIR/containers.conf}
TESTBED_PREFIX=infn-
TESTBED_LABEL=infn.cloud.testbed
# Every network of the project (docs/testbed.md has the plan).
TESTBED_RANGE=10.99.0.0/16
TESTBED_BASE_IMAGE=${TESTBED_BASE_IMAGE:-localhost/infn-cloud-debian-systemd:bookworm}

# One clear line on stderr, then exit: the scripts never end on a shell trace.
die() {
  echo "testbed: $*" >&2
  exit 1
}

# Runs a step, printing its name; on failure says which step failed and shows its output.
step() {
  local name=$1; shift
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    die "step '$name' failed (command: $*)"
  fi
  rm -f "$log"
}
