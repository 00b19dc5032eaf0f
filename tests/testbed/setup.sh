#!/usr/bin/env bash
# Prepares this machine to run the project's containers: packages, podman check, base image.
# Usage: setup.sh [test|demo]   (the bindep.txt profile to install)
# Idempotent: a second run installs and builds nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# System packages come from bindep.txt (profile: test or demo, as the caller says).
profile=${1:-test}
command -v bindep >/dev/null || die "bindep not found: run 'make venv' first (it comes from tests/requirements.txt)"
# bindep exits 1 when something is missing; its list is what matters.
mapfile -t missing < <(cd "$TESTBED_DIR/../.." && { bindep --brief "$profile" || true; })
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root: install them with apt-get first"
  echo "testbed: installing ${missing[*]}"
  step "apt-get update" apt-get update -qq
  step "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "podman info (is podman usable?)" podman info

# Podman masquerades traffic between its networks, so a host on one site would see a peer of
# another site as that network's gateway. Sites of a federation route to each other without
# NAT, and address-based rules (Swift's rsync `hosts allow`) depend on it: traffic between the
# project's networks keeps its addresses. Runtime state only, re-applied on every run.
if ! iptables -t nat -C POSTROUTING -s "$TESTBED_RANGE" -d "$TESTBED_RANGE" -j RETURN 2>/dev/null; then
  step "iptables: no NAT inside $TESTBED_RANGE" iptables -t nat -I POSTROUTING 1 -s "$TESTBED_RANGE" -d "$TESTBED_RANGE" -j RETURN
fi
# While a site's network is down, traffic to its subnet must not follow the default route out.
bash "$TESTBED_DIR/route.sh" add
bash "$TESTBED_DIR/build-base-image.sh"

# The proof that containers can run here, with the options every test host uses.
if ! out=$(podman run --rm --pull=never --label "$TESTBED_LABEL=probe" "$TESTBED_BASE_IMAGE" true 2>&1); then
  echo "$out" | tail -n 5 >&2
  die "podman cannot run containers on this machine (step: podman run $TESTBED_BASE_IMAGE; CONTAINERS_CONF=$CONTAINERS_CONF)"
fi
echo "testbed: ready (podman $(podman version --format '{{.Client.Version}}'), image $TESTBED_BASE_IMAGE)"
