#!/usr/bin/env bash
# A real OpenStack test site: one systemd podman container running OpenStack Zed from Debian 12
# packages (Keystone, Glance, Placement, Nova with the fake driver, Neutron linuxbridge + L3
# with floating IPs, Cinder with the fake driver).
#
# Usage: site.sh image|up|down|status
#   image   builds the image only (what `make test` does first, alone, before its parallel jobs).
#   up      builds localhost/infn-cloud-openstack:zed once (5-8 minutes: install, configure,
#           seed, commit; rebuilt only when setup-inside.sh or seed-inside.sh change), starts
#           infn-openstack-1 from it (about 40 s), waits until it is usable and writes
#           build/openstack/clouds.yaml (clouds infn-os-admin and infn-os-demo). Idempotent.
#   down    removes the container and its network (the image is kept).
#   status  prints "ready" (exit 0), or says why not (exit 1).
#
# Addresses (docs/testbed.md plan, 10.99.0.0/16):
#   10.99.30.0/24  podman network infn-openstack; the container is 10.99.30.10 (baked into the
#                  image's endpoints, so it is always started there). APIs: http://10.99.30.10:5000/v3
#   10.99.31.0/24  Neutron "public" (external, flat physnet1, floating IP pool .10-.250)
#   10.99.32.0/24  Neutron "private" (demo project, VXLAN)
# The two Neutron subnets live only inside the container (router namespace, private veth pair);
# the machine never routes them.
# Passwords (admin, demo) are generated once into build/openstack/ (mode 0600).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

HERE=$TESTBED_DIR/openstack
REPO=$(cd "$TESTBED_DIR/../.." && pwd)
OUT=$REPO/build/openstack
NAME=${TESTBED_PREFIX}openstack-1
NET=${TESTBED_PREFIX}openstack
SUBNET=10.99.30.0/24
IP=10.99.30.10
IMAGE=localhost/infn-cloud-openstack:zed
SITE_LABEL=$TESTBED_LABEL=openstack
AUTH_URL=http://$IP:5000/v3
# Alone, a start from the image is ready in about a minute; beside make test's Molecule chains
# and demo on 2 CPUs it took more than 7 minutes (the tests were then skipped, not run).
READY_TIMEOUT=${INFN_OPENSTACK_READY_TIMEOUT:-1200}
# The image is rebuilt only when what is baked into it changes: its scripts or the base image.
BASE_RECIPE=$(podman image inspect --format '{{ index .Labels "infn.cloud.recipe" }}' "$TESTBED_BASE_IMAGE" 2>/dev/null || true)
RECIPE_HASH=$( (cat "$HERE/setup-inside.sh" "$HERE/seed-inside.sh"; echo "$IP $NAME $BASE_RECIPE") | sha256sum | cut -c1-16)
export AUTH_URL ADMIN_PW DEMO_PW

# Readiness probe, run inside the container with its own python3 and keystoneauth1. Prints one
# line: "ready" or what is not ready. With "fix", it resets the admin and demo passwords to the
# ones in build/openstack when Keystone refuses them (an image older than those files).
read -r -d '' PROBE_PY <<'PYTHON' || true
import datetime, json, os, re, subprocess, sys
from keystoneauth1 import exceptions as ksa_exc, session
from keystoneauth1.identity import v3

FIX = sys.argv[1:] == ["fix"]


def one_line(exc):
    return re.sub(r"\s+", " ", f"{type(exc).__name__}: {exc}")[:200]


def login(user):
    auth = v3.Password(auth_url=os.environ["AUTH_URL"], username=user, password=os.environ[user.upper() + "_PW"],
                       project_name=user, user_domain_name="Default", project_domain_name="Default")
    sess = session.Session(auth=auth, timeout=30)
    sess.get_token()
    return sess


def started():
    """When this container's PID 1 started (UTC): heartbeats older than that are from the image."""
    ticks = int(open("/proc/1/stat").read().rsplit(")", 1)[1].split()[19])
    btime = next(int(line.split()[1]) for line in open("/proc/stat") if line.startswith("btime "))
    return datetime.datetime.utcfromtimestamp(btime + ticks / os.sysconf("SC_CLK_TCK"))


def fresh(stamp, since):
    return bool(stamp) and datetime.datetime.fromisoformat(stamp.replace(" ", "T").split(".")[0]) >= since


def probe():
    try:
        admin = login("admin")
    except ksa_exc.Unauthorized:
        if not FIX:
            return "keystone refuses the admin password in build/openstack"
        subprocess.run(["su", "-s", "/bin/sh", "-c", 'keystone-manage bootstrap --bootstrap-password "$ADMIN_PW"',
                        "keystone"], check=True, capture_output=True)
        return "admin password reset to the one in build/openstack"
    except Exception as exc:
        return f"keystone token: {one_line(exc)}"
    try:
        login("demo")
    except ksa_exc.Unauthorized:
        if not FIX:
            return "keystone refuses the demo password in build/openstack"
        users = admin.get("/users?name=demo", endpoint_filter={"service_type": "identity"}).json()["users"]
        admin.patch(f"/users/{users[0]['id']}", json={"user": {"password": os.environ["DEMO_PW"]}},
                    endpoint_filter={"service_type": "identity"})
        return "demo password reset to the one in build/openstack"
    except Exception as exc:
        return f"keystone token (demo): {one_line(exc)}"

    since = started()
    problems = []
    def get(service, path):
        return admin.get(path, endpoint_filter={"service_type": service, "interface": "public"}).json()
    try:
        get("image", "/v2/images?limit=1")
    except Exception as exc:
        problems.append(f"glance: {one_line(exc)}")
    try:
        services = get("compute", "/os-services")["services"]
        for binary in ("nova-conductor", "nova-scheduler", "nova-compute"):
            if not any(s["binary"] == binary and s["state"] == "up" and fresh(s["updated_at"], since)
                       for s in services):
                problems.append(f"{binary} not up")
    except Exception as exc:
        problems.append(f"nova: {one_line(exc)}")
    try:
        agents = get("network", "/v2.0/agents")["agents"]
        for kind in ("Linux bridge agent", "L3 agent"):
            if not any(a["agent_type"] == kind and a["alive"] and fresh(a["heartbeat_timestamp"], since)
                       for a in agents):
                problems.append(f"neutron {kind} not alive")
    except Exception as exc:
        problems.append(f"neutron: {one_line(exc)}")
    try:
        if not get("volumev3", "/scheduler-stats/get_pools")["pools"]:
            problems.append("no cinder pool yet (cinder-volume has not reported)")
    except Exception as exc:
        problems.append(f"cinder: {one_line(exc)}")
    # The L3 agent says "alive" long before its first router sync; floating IPs need the sync.
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    routers = [line.split()[0] for line in names.splitlines() if line.startswith("qrouter-")]
    gateway = any("qg-" in subprocess.run(["ip", "netns", "exec", ns, "ip", "-o", "addr"], capture_output=True,
                                          text=True, check=False).stdout for ns in routers)
    if not gateway:
        problems.append("router namespace not set up by the L3 agent yet")
    return "; ".join(problems) or "ready"


try:
    print(probe())
except Exception as exc:
    print(f"probe failed: {one_line(exc)}")
PYTHON

# Podman's word alone is not enough: a container whose processes died under it (seen once on a
# busy machine) stays "running" in podman's state, and only an exec tells.
running() {
  [ "$(podman container inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] &&
    podman exec "$NAME" true >/dev/null 2>&1
}

# One line: "ready" or what is not ready.
probe() {
  { podman exec -i -e AUTH_URL -e ADMIN_PW -e DEMO_PW "$NAME" python3 - "$@" <<<"$PROBE_PY" 2>&1 || true; } | tail -n 1
}

load_passwords() {
  [ -s "$OUT/admin.password" ] && [ -s "$OUT/demo.password" ] || return 1
  ADMIN_PW=$(<"$OUT/admin.password")
  DEMO_PW=$(<"$OUT/demo.password")
}

# Generated once, kept in build/openstack (0600); the image and the clouds.yaml use them.
ensure_passwords() {
  local user
  (
    umask 077
    for user in admin demo; do
      [ -s "$OUT/$user.password" ] || od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$OUT/$user.password"
    done
  )
  chmod 600 "$OUT/admin.password" "$OUT/demo.password"
  load_passwords || die "cannot read the passwords in $OUT"
}

# image, up and down run under a lock held by flock(1) itself (-o: podman's conmon and aardvark-dns,
# which outlive this script, must not inherit it), so that two callers never race.
with_lock() {
  local rc=0
  mkdir -p "$OUT"
  if ! flock -n -o "$OUT/site.lock" true; then
    echo "testbed: waiting for another site.sh (lock $OUT/site.lock)"
  fi
  INFN_OPENSTACK_SITE_LOCKED=1 flock -o -w 1800 -E 75 "$OUT/site.lock" bash "${BASH_SOURCE[0]}" "$@" || rc=$?
  [ "$rc" != 75 ] || die "another site.sh still holds $OUT/site.lock after 30 minutes"
  exit "$rc"
}

ensure_network() {
  local subnet
  if podman network exists "$NET"; then
    subnet=$(podman network inspect --format '{{range .Subnets}}{{.Subnet}} {{end}}' "$NET")
    [ "${subnet% }" = "$SUBNET" ] || die "network $NET exists with subnet '${subnet% }', expected $SUBNET"
  else
    step "podman network create $NET" podman network create --subnet "$SUBNET" --label "$SITE_LABEL" "$NET"
  fi
}

remove_container() {
  if podman container exists "$NAME"; then
    step "podman rm $NAME" podman rm -f -t 10 "$NAME"
  fi
}

# Not --privileged. NET_ADMIN/NET_RAW: bridges, veth, iptables; SYS_ADMIN: ip netns;
# SYS_PTRACE + DAC_READ_SEARCH: Neutron's privsep daemon keeps them and fails to start without;
# unmask=ALL: writable /proc/sys for the L3 agent's per-router sysctls. The hostname is fixed:
# RabbitMQ's node and the Nova/Neutron host records in the image are keyed on it.
run_container() {
  step "podman run $NAME from $1" podman run -d --pull=never --name "$NAME" --hostname "$NAME" \
    --label "$SITE_LABEL" --network "$NET" --ip "$IP" \
    --cap-add NET_ADMIN --cap-add NET_RAW --cap-add SYS_ADMIN \
    --cap-add SYS_PTRACE --cap-add DAC_READ_SEARCH --security-opt unmask=ALL \
    --systemd=always "$1" /sbin/init
}

build_image() {
  local old script started=$SECONDS
  old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  echo "testbed: building $IMAGE (recipe $RECIPE_HASH, 5-8 minutes)"
  remove_container
  ensure_network
  run_container "$TESTBED_BASE_IMAGE"
  for script in setup-inside.sh seed-inside.sh; do
    step "copy $script into $NAME" podman cp "$HERE/$script" "$NAME:/root/$script"
  done
  echo "testbed: installing and configuring OpenStack (setup-inside.sh)"
  step "setup-inside.sh (install and configure OpenStack)" \
    podman exec -e IP="$IP" -e ADMIN_PW -e DEMO_PW "$NAME" bash /root/setup-inside.sh
  echo "testbed: seeding flavor, image, networks and router (seed-inside.sh)"
  step "seed-inside.sh (flavor, image, networks, router)" \
    podman exec -e IP="$IP" -e ADMIN_PW "$NAME" bash /root/seed-inside.sh
  # A clean stop first, so that MariaDB and RabbitMQ are committed consistent.
  step "podman stop $NAME (before commit)" podman stop -t 60 "$NAME"
  step "podman commit $IMAGE" podman commit -q \
    --change "LABEL infn.cloud.recipe=$RECIPE_HASH" --change "LABEL $SITE_LABEL" "$NAME" "$IMAGE"
  remove_container
  if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
  echo "testbed: built $IMAGE in $((SECONDS - started))s"
}

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) out
  while :; do
    out=$(probe fix)
    [ "$out" = ready ] && return 0
    running || die "container $NAME stopped while waiting for OpenStack (podman logs $NAME)"
    ((SECONDS < deadline)) || die "OpenStack site not ready after ${READY_TIMEOUT}s: ${out:-no answer from the probe}"
    sleep 3
  done
}

write_clouds_yaml() {
  local tmp cloud user
  tmp=$(umask 077 && mktemp "$OUT/clouds.yaml.XXXXXX")
  {
    echo "# Written by tests/testbed/openstack/site.sh up: the OpenStack test site ($NAME)."
    echo "clouds:"
    for cloud in admin demo; do
      user=$cloud
      cat <<EOF
  infn-os-$cloud:
    auth:
      auth_url: "$AUTH_URL"
      username: $user
      password: "$(<"$OUT/$user.password")"
      project_name: $user
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
    api_timeout: 120
EOF
    done
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$OUT/clouds.yaml"
}

cmd_image() {
  command -v podman >/dev/null || die "podman is not installed (run 'make testbed')"
  step "podman info (is podman usable?)" podman info
  bash "$TESTBED_DIR/build-base-image.sh" >/dev/null
  ensure_passwords
  if [ "$(podman image inspect --format '{{ index .Labels "infn.cloud.recipe" }}' "$IMAGE" 2>/dev/null)" != "$RECIPE_HASH" ]; then
    build_image
  else
    echo "testbed: $IMAGE is up to date (recipe $RECIPE_HASH)"
  fi
}

cmd_up() {
  local started=$SECONDS image_id
  cmd_image
  image_id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
  if running && [ "$(podman container inspect --format '{{.Image}}' "$NAME")" = "$image_id" ]; then
    echo "testbed: $NAME is already running"
  else
    remove_container
    ensure_network
    run_container "$IMAGE"
  fi
  wait_ready
  write_clouds_yaml
  echo "testbed: OpenStack site ready at $AUTH_URL (build/openstack/clouds.yaml: infn-os-admin, infn-os-demo) in $((SECONDS - started))s"
}

cmd_down() {
  command -v podman >/dev/null || die "podman is not installed"
  remove_container
  if podman network exists "$NET"; then
    step "podman network rm $NET" podman network rm "$NET"
  fi
  rm -f "$OUT/clouds.yaml"
  echo "testbed: OpenStack site removed ($NAME, $NET; image $IMAGE kept)"
}

cmd_status() {
  local out
  command -v podman >/dev/null || die "not ready: podman is not installed"
  running || die "not ready: container $NAME is not running (site.sh up)"
  load_passwords || die "not ready: no passwords in $OUT (site.sh up)"
  out=$(probe)
  [ "$out" = ready ] || die "not ready: ${out:-no answer from the probe}"
  echo ready
}

case ${1:-} in
  image | up | down) [ "${INFN_OPENSTACK_SITE_LOCKED:-}" = 1 ] || with_lock "$1" ;;&
  image) cmd_image ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: site.sh image|up|down|status" ;;
esac
