#!/usr/bin/env bash
# Keeps traffic to the test bed's addresses on this machine: an `unreachable` route covers the
# whole project range (lib.sh's TESTBED_RANGE). While a site's network is up, the kernel's route
# for its bridge (a /24) is more specific and wins; once podman removes the bridge (its hosts
# stopped, its network removed), packets to that subnet get "no route to host" at once instead
# of following the default route out of the machine.
# Usage: route.sh add|remove|status   (add and remove are idempotent; status exits 1 when absent)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

present() { [ -n "$(ip -4 route show type unreachable "$TESTBED_RANGE" 2>/dev/null)" ]; }

case ${1:-} in
  add)
    present && exit 0
    [ "$(id -u)" = 0 ] || die "cannot add the unreachable route for $TESTBED_RANGE: not root"
    step "ip route add unreachable $TESTBED_RANGE" ip -4 route add unreachable "$TESTBED_RANGE"
    echo "testbed: traffic to $TESTBED_RANGE never leaves this machine (unreachable route added)"
    ;;
  remove)
    present || exit 0
    step "ip route del unreachable $TESTBED_RANGE" ip -4 route del unreachable "$TESTBED_RANGE"
    echo "testbed: unreachable route for $TESTBED_RANGE removed"
    ;;
  status)
    if present; then echo "unreachable route for $TESTBED_RANGE: present"; else
      echo "unreachable route for $TESTBED_RANGE: absent (run 'make testbed')"; exit 1; fi
    ;;
  *) die "usage: route.sh add|remove|status" ;;
esac
