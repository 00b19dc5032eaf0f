#!/usr/bin/env bash
# Builds the systemd-capable Debian 12 image every test host boots from.
# Cached: the image carries the hash of this recipe and is rebuilt only when it changes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MIRROR=${MIRROR:-http://deb.debian.org/debian}
# python3-apt saves every role a bootstrap install; iproute2/iputils for network checks.
PACKAGES=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,iputils-ping,ca-certificates
RECIPE_HASH=$( (cat "${BASH_SOURCE[0]}"; echo "$PACKAGES $MIRROR") | sha256sum | cut -c1-16)

current=$(podman image inspect --format '{{ index .Labels "infn.cloud.recipe" }}' "$TESTBED_BASE_IMAGE" 2>/dev/null || true)
if [ "$current" = "$RECIPE_HASH" ]; then
  echo "testbed: base image $TESTBED_BASE_IMAGE is up to date"
  exit 0
fi

echo "testbed: building $TESTBED_BASE_IMAGE (recipe $RECIPE_HASH, about a minute)"
ROOTFS=$(mktemp -d /var/tmp/infn-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
step debootstrap debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
cat > "$ROOTFS/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
SOURCES
# The package lists come with the image, so that the roles' `update_cache` with
# `cache_valid_time: 3600` skips the download and parse in each of the test bed's dozens of
# hosts while the image is fresh (make test builds it in the same run); in an image older than
# an hour the lists are stale by their mtime, and each host updates them as any host would.
resolv_added=false
[ -s "$ROOTFS/etc/resolv.conf" ] || { cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"; resolv_added=true; }
step "apt-get update" chroot "$ROOTFS" apt-get update -qq
if $resolv_added; then rm -f "$ROOTFS/etc/resolv.conf"; fi
: > "$ROOTFS/etc/machine-id"   # empty: each container gets its own machine-id
# Test hosts are thrown away, never power-cut: dpkg need not sync every file it unpacks
# (measured here: PostgreSQL and Swift's object server install in 166 s instead of 299 s).
echo force-unsafe-io > "$ROOTFS/etc/dpkg/dpkg.cfg.d/infn-unsafe-io"
# Documentation, man pages and translations nobody reads in a throw-away host are not unpacked.
# (Byte-compiling on install is kept, though it is most of an install's CPU: daemons run as their
# own users, cannot write __pycache__, and without it would compile every import at each start.)
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/infn-no-docs" <<'NODOCS'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
NODOCS
# Every `systemctl daemon-reload` (each package with a unit makes one) runs all generators; these
# look for disks, consoles and hibernation images a container does not have.
mkdir -p "$ROOTFS/etc/systemd/system-generators"
for generator in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup getty debug; do
  ln -sf /dev/null "$ROOTFS/etc/systemd/system-generators/systemd-$generator-generator"
done
# cgroup v1 containers: some daemons ignore SIGTERM and would hang a stop for 90 s. Starts get
# 20 minutes instead of 90 s: on 2 CPUs shared by make test's four jobs, OpenStack's services took
# longer than that to start, systemd killed and restarted them, and the restarts fed the load.
mkdir -p "$ROOTFS/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStopSec=10s\nDefaultTimeoutStartSec=20min\n' > "$ROOTFS/etc/systemd/system.conf.d/infn-timeout.conf"
# Units that make no sense in a container and only slow the boot down.
for unit in getty.target systemd-remount-fs.service; do
  ln -sf /dev/null "$ROOTFS/etc/systemd/system/$unit"
done
step "podman import" sh -c "tar -C '$ROOTFS' -c . | podman import \
  --change 'CMD [\"/sbin/init\"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'LABEL infn.cloud.recipe=$RECIPE_HASH' \
  --change 'LABEL $TESTBED_LABEL=base' \
  - '$TESTBED_BASE_IMAGE'"
# The previous build, now untagged, is the project's too: drop it.
podman image prune -f --filter "label=$TESTBED_LABEL=base" >/dev/null || true
echo "testbed: built $TESTBED_BASE_IMAGE"
