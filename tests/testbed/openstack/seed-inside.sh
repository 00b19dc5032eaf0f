#!/usr/bin/env bash
# Runs INSIDE the container after setup-inside.sh: maps the compute host to cell1 and creates
# the minimal content the tests use (idempotent):
#   flavor m1.tiny, public raw image "tiny" (4 KiB of zeros),
#   "public": external, shared, flat on physnet1, 10.99.31.0/24, floating IP pool .10-.250,
#   "private" (project demo, VXLAN) with private-subnet 10.99.32.0/24,
#   "router1" (project demo): gateway on public, interface on private-subnet.
# Both Neutron subnets exist only inside the container (router namespace and the private veth
# pair os-phys0); the machine never routes them.
# Environment: IP (the container address), ADMIN_PW.
set -euo pipefail
IP=${IP:?set IP to the container address}
ADMIN_PW=${ADMIN_PW:?set ADMIN_PW}
REGION=${REGION:-RegionOne}
PUBLIC_CIDR=${PUBLIC_CIDR:-10.99.31.0/24}
PUBLIC_NET=${PUBLIC_CIDR%.0/24}
PRIVATE_CIDR=${PRIVATE_CIDR:-10.99.32.0/24}
export OS_AUTH_URL=http://${IP}:5000/v3 OS_USERNAME=admin OS_PASSWORD=${ADMIN_PW} OS_PROJECT_NAME=admin \
       OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=${REGION}
ts() { echo "[$(date +%T)] $*"; }
os() { openstack "$@"; }

# Succeeds once command $2... prints something matching the regex $1; tries every 2 s, $3 times.
wait_for() {
  local pattern=$1 tries=$2 n
  shift 2
  for ((n = 0; n < tries; n++)); do
    "$@" 2>/dev/null | grep -q -- "$pattern" && return 0
    sleep 2
  done
  echo "seed-inside: gave up waiting for '$pattern' from: $*" >&2
  return 1
}

ts "wait for nova-compute to register, then map it to cell1"
wait_for up 90 os compute service list --service nova-compute -f value -c State
su -s /bin/sh -c "nova-manage cell_v2 discover_hosts --verbose" nova 2>/dev/null | grep -v '^Modules' || true
wait_for . 60 os hypervisor list -f value

ts "flavor + image"
os flavor show m1.tiny >/dev/null 2>&1 || os flavor create --id 1 --vcpus 1 --ram 512 --disk 1 m1.tiny >/dev/null
if ! os image show tiny >/dev/null 2>&1; then
  head -c 4096 /dev/zero > /tmp/tiny.raw
  os image create --public --disk-format raw --container-format bare --file /tmp/tiny.raw tiny >/dev/null
  rm -f /tmp/tiny.raw
fi

ts "networks + router"
os network show public >/dev/null 2>&1 || os network create --external --share \
    --provider-network-type flat --provider-physical-network physnet1 public >/dev/null
os subnet show public-subnet >/dev/null 2>&1 || os subnet create --network public --no-dhcp \
    --subnet-range "${PUBLIC_CIDR}" --allocation-pool "start=${PUBLIC_NET}.10,end=${PUBLIC_NET}.250" \
    --gateway "${PUBLIC_NET}.1" public-subnet >/dev/null
os network show private >/dev/null 2>&1 || os network create --project demo private >/dev/null
os subnet show private-subnet >/dev/null 2>&1 || os subnet create --project demo --network private \
    --subnet-range "${PRIVATE_CIDR}" private-subnet >/dev/null
if ! os router show router1 >/dev/null 2>&1; then
  os router create --project demo router1 >/dev/null
  os router set --external-gateway public router1
  os router add subnet router1 private-subnet
fi
ts "seed done"
