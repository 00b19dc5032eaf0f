#!/usr/bin/env bash
# Runs INSIDE the systemd Debian 12 container (as root), started by site.sh from the base image.
# Installs and configures a single-node OpenStack Zed from Debian bookworm packages: Keystone,
# Glance (file store), Placement, Nova (fake virt driver), Neutron (ML2 + linuxbridge agent +
# L3 agent, VXLAN tenant networks, a flat physnet on a private veth pair) and Cinder (fake
# volume driver). No DHCP or metadata agent: the fake servers have no guest.
#
# Environment: IP (the container address, baked into endpoints and configs), ADMIN_PW and
# DEMO_PW (the Keystone admin and demo users), PW (services, MariaDB, RabbitMQ; random when
# unset: nothing outside the container needs it).
# Adapted from a verified recipe; the comments name the pitfalls it met.
set -euo pipefail
IP=${IP:?set IP to the container address reachable from the host}
ADMIN_PW=${ADMIN_PW:?set ADMIN_PW}
DEMO_PW=${DEMO_PW:?set DEMO_PW}
PW=${PW:-$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')}
REGION=${REGION:-RegionOne}
export DEBIAN_FRONTEND=noninteractive
DB="mysql+pymysql://os:${PW}@127.0.0.1"
RABBIT="rabbit://os:${PW}@127.0.0.1:5672/"
ts() { echo "[$(date +%T)] $*"; }

# Retries a command every 2 s, at most $1 times.
retry() {
  local tries=$1; shift
  local n
  for ((n = 0; n < tries; n++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 2
  done
  echo "setup-inside: gave up waiting for: $*" >&2
  return 1
}

# ---------------------------------------------------------------- packages
ts "apt: install packages"
# The base image's sources.list names the project's mirror; it is kept as it is.
# Pitfall: Debian's postinst scripts start every service at once with stock configs (SQLite,
# 8x32 uWSGI workers) and systemd start timeouts follow; policy-rc.d keeps them stopped.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get update -qq
# nova-compute-ironic only satisfies nova-compute's hypervisor dependency without libvirt/qemu;
# the ironic driver is overridden in nova-compute.conf below.
apt-get install -y -q --no-install-recommends \
  mariadb-server python3-pymysql rabbitmq-server procps curl \
  keystone glance-api placement-api \
  nova-api nova-conductor nova-scheduler nova-compute nova-compute-ironic \
  neutron-server neutron-linuxbridge-agent neutron-l3-agent iptables \
  cinder-api cinder-scheduler cinder-volume \
  python3-openstackclient >/var/log/os-apt.log 2>&1 || { tail -30 /var/log/os-apt.log; exit 1; }
rm -f /usr/sbin/policy-rc.d
# Pulled in as dependencies, not used: the L3 agent runs its own haproxy processes, and the
# fake volume driver needs no LIO target.
systemctl disable haproxy rtslib-fb-targetctl >/dev/null 2>&1 || true
apt-get clean
rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------- MariaDB / RabbitMQ
ts "mariadb + rabbitmq"
cat > /etc/mysql/mariadb.conf.d/99-openstack.cnf <<'EOF'
[mysqld]
bind-address = 127.0.0.1
max_connections = 500
innodb_buffer_pool_size = 64M
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
EOF
systemctl enable mariadb rabbitmq-server >/dev/null 2>&1
systemctl restart mariadb rabbitmq-server
for d in keystone glance placement nova nova_api nova_cell0 neutron cinder; do
  mysql -e "CREATE DATABASE IF NOT EXISTS $d"
done
mysql -e "CREATE USER IF NOT EXISTS 'os'@'localhost' IDENTIFIED BY '${PW}';
          CREATE USER IF NOT EXISTS 'os'@'127.0.0.1' IDENTIFIED BY '${PW}';
          ALTER USER 'os'@'localhost' IDENTIFIED BY '${PW}';
          ALTER USER 'os'@'127.0.0.1' IDENTIFIED BY '${PW}';
          GRANT ALL PRIVILEGES ON *.* TO 'os'@'localhost';
          GRANT ALL PRIVILEGES ON *.* TO 'os'@'127.0.0.1'; FLUSH PRIVILEGES;"
rabbitmqctl list_users | grep -q '^os' || rabbitmqctl add_user os "${PW}" >/dev/null
rabbitmqctl change_password os "${PW}" >/dev/null
rabbitmqctl set_permissions os '.*' '.*' '.*' >/dev/null

# keystone_authtoken / service-auth block shared by all services
authblock() { # $1 = section name, $2 = username
  cat <<EOF
[$1]
auth_url = http://${IP}:5000/v3
www_authenticate_uri = http://${IP}:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = ${PW}
region_name = ${REGION}
EOF
}

# uWSGI: Debian defaults to 8 processes x 32 threads per API (16 for nova-api): shrink.
for f in /etc/keystone/keystone-uwsgi.ini /etc/glance/glance-api-uwsgi.ini \
         /etc/placement/placement-api-uwsgi.ini /etc/nova/nova-api-uwsgi.ini \
         /etc/neutron/neutron-api-uwsgi.ini /etc/cinder/cinder-api-uwsgi.ini; do
  sed -i -E 's/^processes = .*/processes = 1/; s/^threads = .*/threads = 8/' "$f"
done
grep -q '^threads' /etc/nova/nova-api-uwsgi.ini || echo 'threads = 8' >> /etc/nova/nova-api-uwsgi.ini
# Pitfall: nova-api and neutron-api monkey-patch eventlet; with several uWSGI threads their green
# locks are shared between OS threads ("greenlet.error: cannot switch to a different thread")
# and a request can hang for good (seen: a POST /servers never answered under concurrent use).
# They get 2 processes of 1 thread each.
for f in /etc/nova/nova-api-uwsgi.ini /etc/neutron/neutron-api-uwsgi.ini; do
  sed -i -E 's/^processes = .*/processes = 2/; s/^threads = .*/threads = 1/' "$f"
done

# ---------------------------------------------------------------- Keystone
ts "keystone"
cat > /etc/keystone/keystone.conf <<EOF
[DEFAULT]
log_dir = /var/log/keystone
[database]
connection = ${DB}/keystone
[token]
provider = fernet
EOF
su -s /bin/sh -c "keystone-manage db_sync" keystone
keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone
keystone-manage credential_setup --keystone-user keystone --keystone-group keystone
keystone-manage bootstrap --bootstrap-password "${ADMIN_PW}" \
  --bootstrap-admin-url "http://${IP}:5000/v3/" --bootstrap-internal-url "http://${IP}:5000/v3/" \
  --bootstrap-public-url "http://${IP}:5000/v3/" --bootstrap-region-id "${REGION}"
systemctl enable keystone >/dev/null 2>&1
systemctl restart keystone

export OS_AUTH_URL=http://${IP}:5000/v3 OS_USERNAME=admin OS_PASSWORD=${ADMIN_PW} OS_PROJECT_NAME=admin \
       OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=${REGION}
retry 60 openstack token issue -f value -c id
os() { openstack "$@"; }
os project show service >/dev/null 2>&1 || os project create --domain default service >/dev/null
os project show demo >/dev/null 2>&1 || os project create --domain default demo >/dev/null
os user show demo >/dev/null 2>&1 || os user create --domain default --password "${DEMO_PW}" demo >/dev/null
os role add --project demo --user demo member
os role show service >/dev/null 2>&1 || os role create service >/dev/null
reg() { # name type port path
  os user show "$1" >/dev/null 2>&1 || os user create --domain default --password "${PW}" "$1" >/dev/null
  os role add --project service --user "$1" admin
  os role add --project service --user "$1" service
  os service show "$2" >/dev/null 2>&1 || {
    os service create --name "$1" "$2" >/dev/null
    for itf in public internal admin; do
      os endpoint create --region "${REGION}" "$2" "$itf" "http://${IP}:$3$4" >/dev/null
    done
  }
}
reg glance image 9292 ""
reg placement placement 8778 ""
reg nova compute 8774 "/v2.1"
reg neutron network 9696 ""
reg cinder volumev3 8776 "/v3/%(project_id)s"

# ---------------------------------------------------------------- Glance
ts "glance"
cat > /etc/glance/glance-api.conf <<EOF
[DEFAULT]
log_dir = /var/log/glance
workers = 1
[database]
connection = ${DB}/glance
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = /var/lib/glance/images/
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = /var/lock/glance
$(authblock keystone_authtoken glance)
EOF
su -s /bin/sh -c "glance-manage db_sync" glance >/dev/null 2>&1
systemctl enable glance-api >/dev/null 2>&1
systemctl restart glance-api

# ---------------------------------------------------------------- Placement
ts "placement"
cat > /etc/placement/placement.conf <<EOF
[placement_database]
connection = ${DB}/placement
[api]
auth_strategy = keystone
$(authblock keystone_authtoken placement)
EOF
su -s /bin/sh -c "placement-manage db sync" placement
systemctl enable placement-api >/dev/null 2>&1
systemctl restart placement-api

# ---------------------------------------------------------------- Nova
ts "nova"
# Pitfall: the fake driver plugs no tap, so ports stay DOWN; nothing waits for vif-plugged.
cat > /etc/nova/nova.conf <<EOF
[DEFAULT]
my_ip = ${IP}
state_path = /var/lib/nova
transport_url = ${RABBIT}
compute_driver = fake.FakeDriver
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
[api]
auth_strategy = keystone
[api_database]
connection = ${DB}/nova_api
[database]
connection = ${DB}/nova
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 30
[oslo_concurrency]
lock_path = /var/lock/nova
[vnc]
enabled = false
[cinder]
os_region_name = ${REGION}
$(authblock keystone_authtoken nova)
$(authblock service_user nova)
send_service_user_token = true
$(authblock placement placement)
$(authblock neutron neutron)
EOF
# Pitfall: Debian's nova-compute.conf (loaded after nova.conf) selects the hypervisor.
cat > /etc/nova/nova-compute.conf <<'EOF'
[DEFAULT]
compute_driver = fake.FakeDriver
EOF
su -s /bin/sh -c "nova-manage api_db sync" nova
su -s /bin/sh -c "nova-manage cell_v2 map_cell0" nova
su -s /bin/sh -c "nova-manage cell_v2 list_cells" nova | grep -q ' cell1 ' \
  || su -s /bin/sh -c "nova-manage cell_v2 create_cell --name=cell1" nova
su -s /bin/sh -c "nova-manage db sync" nova
systemctl disable --now nova-api-metadata >/dev/null 2>&1 || true
for s in nova-api nova-conductor nova-scheduler nova-compute; do systemctl enable "$s" >/dev/null 2>&1; done
systemctl restart nova-api nova-conductor nova-scheduler nova-compute

# ---------------------------------------------------------------- Neutron
ts "neutron"
# Pitfall: linuxbridge is "experimental" in Zed and must be allowed explicitly.
cat > /etc/neutron/neutron.conf <<EOF
[DEFAULT]
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = ${RABBIT}
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 1
[agent]
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
[database]
connection = ${DB}/neutron
[experimental]
linuxbridge = true
[oslo_concurrency]
lock_path = /var/lock/neutron
$(authblock keystone_authtoken neutron)
$(authblock nova nova)
EOF
# Pitfall: no 8021q in this VM kind's kernel, so VLAN is impossible; tenant networks are VXLAN.
cat > /etc/neutron/plugins/ml2/ml2_conf.ini <<'EOF'
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = linuxbridge
extension_drivers = port_security
[ml2_type_flat]
flat_networks = physnet1
[ml2_type_vxlan]
vni_ranges = 1:1000
EOF
# Pitfall: physnet1 (the flat external network) must not be eth0, which the agent would
# enslave into a bridge once the router's gateway is plugged: a veth pair private to the
# container is used instead.
cat > /etc/systemd/system/os-phys0.service <<'EOF'
[Unit]
Description=veth pair used as neutron physnet1
Before=neutron-linuxbridge-agent.service neutron-l3-agent.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'ip link show os-phys0 >/dev/null 2>&1 || ip link add os-phys0 type veth peer name os-phys0p; ip link set os-phys0 up; ip link set os-phys0p up'
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now os-phys0 >/dev/null 2>&1
cat > /etc/neutron/plugins/ml2/linuxbridge_agent.ini <<EOF
[linux_bridge]
physical_interface_mappings = physnet1:os-phys0
[vxlan]
enable_vxlan = true
local_ip = ${IP}
l2_population = false
[securitygroup]
firewall_driver = noop
EOF
cat > /etc/neutron/l3_agent.ini <<'EOF'
[DEFAULT]
interface_driver = linuxbridge
EOF
# Pitfall: RabbitMQ's RPC queues are not durable, so after a (re)start a call sent before the
# server consumes its queue is lost: the L3 agent's first call then waits out a 60 s timeout
# plus a 60 s back-off before its first router sync (floating IPs stay DOWN meanwhile). So it
# starts only once neutron-rpc-server consumes the q-l3-plugin queue.
cat > /usr/local/sbin/infn-wait-rpc-queue <<'SCRIPT'
#!/bin/sh
# Usage: infn-wait-rpc-queue QUEUE [SECONDS]: waits until a RabbitMQ queue has a consumer.
waited=0
while [ "$waited" -lt "${2:-180}" ]; do
  rabbitmqctl -q list_queues name consumers 2>/dev/null \
    | awk -v q="$1" '$1 == q && $2 > 0 { found = 1 } END { exit !found }' && exit 0
  sleep 2
  waited=$((waited + 2))
done
echo "infn-wait-rpc-queue: no consumer on $1 after ${2:-180}s, starting anyway" >&2
SCRIPT
chmod 755 /usr/local/sbin/infn-wait-rpc-queue
mkdir -p /etc/systemd/system/neutron-l3-agent.service.d
cat > /etc/systemd/system/neutron-l3-agent.service.d/infn-wait-rpc.conf <<'UNIT'
[Unit]
After=neutron-rpc-server.service
[Service]
ExecStartPre=+/usr/local/sbin/infn-wait-rpc-queue q-l3-plugin 180
TimeoutStartSec=240
UNIT
systemctl daemon-reload
su -s /bin/sh -c "neutron-db-manage --config-file /etc/neutron/neutron.conf \
  --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade head" neutron >/dev/null 2>&1
for s in neutron-api neutron-rpc-server neutron-linuxbridge-agent neutron-l3-agent; do
  systemctl enable "$s" >/dev/null 2>&1
done
systemctl restart neutron-api neutron-rpc-server neutron-linuxbridge-agent neutron-l3-agent

# ---------------------------------------------------------------- Cinder
ts "cinder"
# python3-cinder ships cinder/tests, hence the fake driver.
cat > /etc/cinder/cinder.conf <<EOF
[DEFAULT]
my_ip = ${IP}
transport_url = ${RABBIT}
auth_strategy = keystone
enabled_backends = fake
osapi_volume_workers = 1
state_path = /var/lib/cinder
[database]
connection = ${DB}/cinder
[fake]
volume_driver = cinder.tests.fake_driver.FakeLoggingVolumeDriver
volume_backend_name = fake
[oslo_concurrency]
lock_path = /var/lock/cinder
$(authblock keystone_authtoken cinder)
$(authblock nova nova)
$(authblock service_user cinder)
send_service_user_token = true
EOF
su -s /bin/sh -c "cinder-manage db sync" cinder >/dev/null 2>&1
for s in cinder-api cinder-scheduler cinder-volume; do systemctl enable "$s" >/dev/null 2>&1; done
systemctl restart cinder-api cinder-scheduler cinder-volume
ts "services configured"
