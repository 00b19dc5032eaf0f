#!/usr/bin/env bash
# Removes exactly what the project made: containers, volumes and networks named with the
# project prefix or carrying its label. --images also removes the project's images.
# Usage: cleanup.sh [--images] [NAME_PREFIX]   (NAME_PREFIX narrows to e.g. infn-demo-)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

images=false
if [ "${1:-}" = --images ]; then images=true; shift; fi
prefix=${1:-$TESTBED_PREFIX}
case $prefix in "$TESTBED_PREFIX"*) ;; *) die "refusing prefix '$prefix': it must start with $TESTBED_PREFIX" ;; esac
command -v podman >/dev/null || { echo "testbed: podman not installed, nothing to clean"; exit 0; }

mapfile -t containers < <(podman ps -a --format '{{.Names}}' | grep "^$prefix" || true)
if [ "$prefix" = "$TESTBED_PREFIX" ]; then
  mapfile -t -O "${#containers[@]}" containers < <(podman ps -a --filter "label=$TESTBED_LABEL" --format '{{.Names}}')
fi
# podman 4.3 sometimes fails `rm -f` of a container that stops on its own between SIGTERM and
# SIGKILL ("container state improper: stopped"); a second pass removes what is left.
remove_containers() {
  local attempt left=("$@")
  for attempt in 1 2 3; do
    podman rm -f -t 2 "${left[@]}" >/dev/null 2>&1 || true
    mapfile -t left < <(for name in "${left[@]}"; do podman container exists "$name" && echo "$name"; done)
    [ ${#left[@]} -eq 0 ] && return 0
    [ "$attempt" = 3 ] || sleep 1
  done
  podman rm -f -t 2 "${left[@]}" >/dev/null || die "cannot remove containers ${left[*]}"
}
if [ ${#containers[@]} -gt 0 ]; then
  remove_containers "${containers[@]}"
  echo "testbed: removed containers ${containers[*]}"
fi
mapfile -t volumes < <(podman volume ls --format '{{.Name}}' | grep "^$prefix" || true)
if [ ${#volumes[@]} -gt 0 ]; then
  podman volume rm -f "${volumes[@]}" >/dev/null
  echo "testbed: removed volumes ${volumes[*]}"
fi
mapfile -t networks < <(podman network ls --format '{{.Name}}' | grep "^$prefix" || true)
if [ ${#networks[@]} -gt 0 ]; then
  podman network rm -f "${networks[@]}" >/dev/null
  echo "testbed: removed networks ${networks[*]}"
fi
if $images; then
  mapfile -t imgs < <(podman images --filter "label=$TESTBED_LABEL" --format '{{.Id}}' | sort -u)
  if [ ${#imgs[@]} -gt 0 ]; then
    podman rmi -f "${imgs[@]}" >/dev/null
    echo "testbed: removed images ${imgs[*]}"
  fi
fi
