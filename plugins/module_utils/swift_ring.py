# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Swift ring declared as data, made true with Swift's own ``RingBuilder``.

The pure part (``validate``, ``plan``, ``state_text``) works on plain dicts, so it is tested
without Swift. The apply part loads, changes, rebalances and saves the builder through
``swift.common.ring``: partitions are only ever placed by Swift's own rebalance.
"""

from __future__ import annotations

import copy
import ipaddress
import math
import os
import re
import shutil
import socket
import tempfile
import time
from datetime import timedelta

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import ProblemsError, option_problem

try:
    from swift.common import exceptions as swift_exceptions
    from swift.common.ring import RingBuilder, RingData

    SWIFT_IMPORT_ERROR = None
except ImportError as import_error:
    SWIFT_IMPORT_ERROR = import_error

RING_NAME = re.compile(r"^(account|container|object|object-[1-9][0-9]*)$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
DEVICE_FIELDS = ("region", "zone", "ip", "port", "device", "weight", "replication_ip", "replication_port", "meta")
# Fields whose change moves partitions; the others only rewrite the ring.gz.
PLACEMENT_FIELDS = ("region", "zone", "weight")
FORCED_FIELDS = ("region", "zone")
RING_STATUS_TEXT = {"missing": "missing", "stale": "out of date", "current": "up to date"}


class RingError(ProblemsError):
    """Every problem that stops one ring (or why it cannot be read or written), in one message
    that names the ring."""


# ---------------------------------------------------------------------------------------------
# Pure logic: plain dicts in, plain dicts out.


def normalize_address(value) -> str | None:
    """An IP in Swift's normal form (compressed IPv6), a hostname as given, or None if neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return ipaddress.ip_address(text.strip("[]")).compressed
    except ValueError:
        # All digits and dots is a mistyped IPv4 address, not a hostname.
        return text if HOSTNAME.match(text) and not re.fullmatch(r"[0-9.]+", text) else None


def label(device: dict) -> str:
    """``ip:port/device``, the way operators and swift-ring-builder name a device."""
    host = f"[{device['ip']}]" if ":" in device["ip"] else device["ip"]
    return f"{host}:{device['port']}/{device['device']}"


def identity(device: dict) -> tuple:
    return device["ip"], device["port"], device["device"]


def _check_number(problems, path, value, low=None, high=None, integer=True):
    """Appends a problem unless value is a number within [low, high]; returns it when valid."""
    kind = "an integer" if integer else "a number"
    valid_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not valid_type:
        problems.append(option_problem(path, f"expected {kind}, got {value!r}"))
        return None
    if not math.isfinite(value):
        problems.append(option_problem(path, f"expected a finite number, got {value!r}"))
        return None
    if high is not None and (value < low or value > high):
        problems.append(option_problem(path, f"expected {low} to {high}, got {value}"))
        return None
    if low is not None and value < low:
        problems.append(option_problem(path, f"expected {low} or more, got {value}"))
        return None
    return value


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _validate_device(problems, index, device) -> dict | None:
    path = f"devices[{index}]"
    if not isinstance(device, dict):
        problems.append(option_problem(path, f"expected a mapping, got {device!r}"))
        return None
    before = len(problems)
    for required in ("region", "zone", "ip", "port", "device"):
        if device.get(required) is None:
            problems.append(option_problem(f"{path}.{required}", "required"))
    region, zone, port = device.get("region"), device.get("zone"), device.get("port")
    region = None if region is None else _check_number(problems, f"{path}.region", region, 1)
    zone = None if zone is None else _check_number(problems, f"{path}.zone", zone, 0)
    port = None if port is None else _check_number(problems, f"{path}.port", port, 1, 65535)
    weight = device.get("weight")
    weight = _check_number(problems, f"{path}.weight", 100.0 if weight is None else weight, 0, integer=False)
    ip = device.get("ip")
    if ip is not None:
        ip = normalize_address(ip)
        if ip is None:
            problems.append(option_problem(f"{path}.ip", f"expected an IP address or a hostname, got {device['ip']!r}"))
    name = device.get("device")
    if name is not None and (not isinstance(name, str) or not name or "/" in name or name in (".", "..")):
        problems.append(
            option_problem(f"{path}.device", f"expected a device name under /srv/node (no '/'), got {name!r}")
        )
    replication_ip = device.get("replication_ip")
    if replication_ip is not None:
        replication_ip = normalize_address(replication_ip)
        if replication_ip is None:
            problems.append(
                option_problem(
                    f"{path}.replication_ip",
                    f"expected an IP address or a hostname, got {device['replication_ip']!r}",
                )
            )
    replication_port = device.get("replication_port")
    if replication_port is not None:
        replication_port = _check_number(problems, f"{path}.replication_port", replication_port, 1, 65535)
    meta = device.get("meta")
    if meta is not None and not isinstance(meta, str):
        problems.append(option_problem(f"{path}.meta", f"expected a string, got {meta!r}"))
    if len(problems) > before:
        return None
    return {
        "region": region,
        "zone": zone,
        "ip": ip,
        "port": port,
        "device": name,
        "weight": float(weight),
        "replication_ip": replication_ip or ip,
        "replication_port": replication_port or port,
        "meta": meta or "",
    }


def validate(params: dict) -> dict:
    """The wanted ring with defaults filled in, or RingError with every problem at once."""
    problems: list = []
    name = params.get("name")
    if not isinstance(name, str) or not RING_NAME.match(name):
        problems.append(
            option_problem(
                "name",
                "expected account, container, object or object-<N> with N >= 1 (one object ring per storage policy),"
                f" got {name!r}",
            )
        )
    path = params.get("path") or "/etc/swift"
    if not os.path.isabs(path):
        problems.append(option_problem("path", f"expected an absolute path, got {path!r}"))
    backup_dir = params.get("backup_dir") or os.path.join(path, "backups")
    if not os.path.isabs(backup_dir):
        problems.append(option_problem("backup_dir", f"expected an absolute path, got {backup_dir!r}"))
    part_power = _check_number(problems, "part_power", params.get("part_power"), 1, 32)
    replicas = params.get("replicas")
    replicas = _check_number(problems, "replicas", 3.0 if replicas is None else replicas, 1, integer=False)
    min_part_hours = params.get("min_part_hours")
    min_part_hours = _check_number(problems, "min_part_hours", 1 if min_part_hours is None else min_part_hours, 0)
    devices = params.get("devices")
    if not isinstance(devices, list):
        problems.append(option_problem("devices", f"expected a list of devices, got {devices!r}"))
        devices = []
    wanted_devices, seen = [], {}
    for index, device in enumerate(devices):
        checked = _validate_device(problems, index, device)
        if checked is None:
            continue
        first = seen.setdefault(identity(checked), index)
        if first != index:
            problems.append(
                option_problem(
                    f"devices[{index}]",
                    f"{label(checked)} is also devices[{first}]: a device is one ip, port and device name",
                )
            )
            continue
        wanted_devices.append({**checked, "index": index})
    # Devices with other mistakes still count: the message is about the number given.
    weights = [
        100 if device.get("weight") is None else device["weight"] for device in devices if isinstance(device, dict)
    ]
    weighted = [weight for weight in weights if _positive(weight)]
    if replicas is not None and len(weighted) < replicas:
        problems.append(
            option_problem(
                "replicas",
                f"{replicas:g} replicas need at least {math.ceil(replicas)} devices with a weight above 0,"
                f" {len(weighted)} given",
            )
        )
    if problems:
        raise RingError(f"swift ring {name}", problems)
    return {
        "name": name,
        "path": path,
        "backup_dir": backup_dir,
        "builder_file": os.path.join(path, f"{name}.builder"),
        "ring_file": os.path.join(path, f"{name}.ring.gz"),
        "part_power": part_power,
        "replicas": float(replicas),
        "min_part_hours": min_part_hours,
        "devices": wanted_devices,
        "force": bool(params.get("force")),
        "pretend_min_part_hours_passed": bool(params.get("pretend_min_part_hours_passed")),
    }


def match_devices(current: list[dict], wanted: list[dict]) -> tuple[list, list, list]:
    """(pairs of (current, wanted), wanted devices to add, current devices to remove).

    A device is its (ip, port, device). A wanted device that is not in the builder is still the
    same disk at a new address when exactly one device left over in the builder has its region,
    zone and device name and differs only in ip or only in port, and no other wanted device
    could be that one: renumbering a host then keeps the disk's partitions.
    """
    by_identity = {identity(device): device for device in current}
    pairs, new = [], []
    for device in wanted:
        found = by_identity.pop(identity(device), None)
        if found is None:
            new.append(device)
        else:
            pairs.append((found, device))
    left = list(by_identity.values())

    def same_disk(old, device):
        same_place = (old["region"], old["zone"], old["device"]) == (device["region"], device["zone"], device["device"])
        return same_place and (old["ip"] == device["ip"]) != (old["port"] == device["port"])

    candidates = [[position for position, old in enumerate(left) if same_disk(old, device)] for device in new]
    claimed = [position for found in candidates for position in found]
    added, moved = [], set()
    for device, found in zip(new, candidates, strict=True):
        if len(found) == 1 and claimed.count(found[0]) == 1:
            pairs.append((left[found[0]], device))
            moved.add(found[0])
        else:
            added.append(device)
    removed = [old for position, old in enumerate(left) if position not in moved]
    return pairs, added, removed


def plan(current: dict, wanted: dict) -> dict:
    """What to do to the builder and ring.gz to make them the wanted ring, or RingError.

    ``current`` is the builder as plain data: ``builder`` (it exists), ``part_power``,
    ``replicas``, ``min_part_hours``, ``devices`` (with ``id`` and ``parts``; devices marked for
    removal left out), ``pending`` (changes not yet rebalanced), ``next_part_power``,
    ``min_part_seconds_left`` (under the wanted min_part_hours) and ``ring_file`` (``missing``,
    ``stale`` or ``current``).
    """
    name, force = wanted["name"], wanted["force"]
    problems: list[str] = []
    steps = {
        "create": not current["builder"],
        "rebuild": False,
        "settings": {},
        "add": [],
        "update": [],
        "remove": [],
        "reasons": [],
    }
    if not current["builder"]:
        if current["ring_file"] != "missing" and not force:
            problems.append(
                option_problem(
                    "",
                    f"{wanted['ring_file']} exists but {wanted['builder_file']} does not: a new builder would place "
                    f"every partition anew; recover the builder with 'swift-ring-builder {wanted['ring_file']} write_builder' "
                    "or set force: true to build a new ring",
                )
            )
        steps["add"] = list(wanted["devices"])
        steps["reasons"].append("new builder")
        pairs = []
    else:
        if current.get("next_part_power") is not None:
            raise RingError(
                f"swift ring {name}",
                message=f"a partition power increase to {current['next_part_power']} is in progress in "
                f"{wanted['builder_file']}: finish or cancel it with swift-ring-builder first",
            )
        for setting in ("part_power", "replicas", "min_part_hours"):
            if current[setting] != wanted[setting]:
                steps["settings"][setting] = [current[setting], wanted[setting]]
        if "part_power" in steps["settings"]:
            old, new = steps["settings"]["part_power"]
            if not force:
                problems.append(
                    option_problem(
                        "part_power",
                        f"ring {name} has part power {old}, {new} wanted: changing it rebuilds the ring "
                        "from scratch and moves every partition; set force: true to do it",
                    )
                )
            steps["rebuild"] = True
            steps["reasons"].append(f"part_power {old} -> {new}")
        if "replicas" in steps["settings"]:
            old, new = steps["settings"]["replicas"]
            steps["reasons"].append(f"replicas {old:g} -> {new:g}")
        if current["pending"]:
            steps["reasons"].append("the builder has changes not rebalanced yet")
        pairs, steps["add"], steps["remove"] = match_devices(current["devices"], wanted["devices"])
        for old, device in pairs:
            changes = {field: [old[field], device[field]] for field in DEVICE_FIELDS if old[field] != device[field]}
            if not changes:
                continue
            for field in FORCED_FIELDS:
                if field in changes and not force:
                    problems.append(
                        option_problem(
                            f"devices[{device['index']}].{field}",
                            f"{label(device)} is in {field} {old[field]} in ring "
                            f"{name}, {field} {device[field]} wanted: moving a device moves its partitions; "
                            "set force: true to do it",
                        )
                    )
            steps["update"].append({"id": old["id"], "label": label(device), "changes": changes})
            steps["reasons"].extend(
                f"{label(device)} {field} {changes[field][0]} -> {changes[field][1]}"
                for field in PLACEMENT_FIELDS
                if field in changes
            )
        steps["reasons"].extend(f"remove {label(device)}" for device in steps["remove"])
    steps["reasons"].extend(f"add {label(device)}" for device in steps["add"] if current["builder"])
    placement = steps["create"] or steps["rebuild"] or current.get("pending") or "replicas" in steps["settings"]
    placement = placement or bool(steps["add"] or steps["remove"])
    placement = placement or any(set(PLACEMENT_FIELDS) & set(update["changes"]) for update in steps["update"])
    steps["rebalance"] = bool(placement)
    steps["write_builder"] = bool(
        steps["create"] or steps["settings"] or steps["add"] or steps["remove"] or steps["update"] or placement
    )
    info_only = any(set(update["changes"]) - set(PLACEMENT_FIELDS) for update in steps["update"])
    steps["write_ring"] = bool(placement or info_only or current["ring_file"] != "current")
    steps["changed"] = steps["write_builder"] or steps["write_ring"]
    left = current.get("min_part_seconds_left") or 0
    waiting = placement and current["builder"] and not steps["rebuild"] and left > 0
    if waiting and not wanted["pretend_min_part_hours_passed"]:
        problems.append(
            option_problem(
                "",
                f"ring {name} needs a rebalance ({'; '.join(steps['reasons'])}) but its partitions may not move again "
                f"for {timedelta(seconds=left)} ({left} s, min_part_hours {wanted['min_part_hours']}): wait, or set "
                "pretend_min_part_hours_passed: true to rebalance now; nothing was changed",
            )
        )
    if problems:
        raise RingError(f"swift ring {name}", problems)
    steps["devices"] = planned_devices(pairs, steps["add"])
    return steps


def planned_devices(pairs: list, added: list) -> list[dict]:
    """The devices as the builder will have them: kept ones with their id and current parts."""
    devices = [{"id": old["id"], **_fields(device), "parts": old.get("parts", 0)} for old, device in pairs]
    devices.sort(key=lambda device: device["id"])
    return devices + [{"id": None, **_fields(device), "parts": 0} for device in added]


def _fields(device: dict) -> dict:
    return {field: device[field] for field in DEVICE_FIELDS}


def device_line(device: dict) -> str:
    """``r1z1-10.99.24.11:6200/d1 weight 100.0`` plus what differs from the defaults."""
    line = f"r{device['region']}z{device['zone']}-{label(device)} weight {float(device['weight'])}"
    if (device["replication_ip"], device["replication_port"]) != (device["ip"], device["port"]):
        host = f"[{device['replication_ip']}]" if ":" in device["replication_ip"] else device["replication_ip"]
        line += f" replication {host}:{device['replication_port']}"
    if device.get("meta"):
        line += f" meta {device['meta']!r}"
    return line


def state_text(state: dict | None, ring_name: str = "") -> str:
    """A ring as text for --diff: its settings, one line per device, whether the ring.gz matches."""
    if state is None:
        return ""
    lines = [
        f"part_power {state['part_power']}",
        f"replicas {float(state['replicas'])}",
        f"min_part_hours {state['min_part_hours']}",
    ]
    order = sorted(state["devices"], key=lambda device: (device["region"], device["zone"], *identity(device)))
    lines.extend(device_line(device) for device in order)
    if state.get("ring_file"):
        lines.append(f"{ring_name}.ring.gz {RING_STATUS_TEXT[state['ring_file']]}")
    return "\n".join(lines) + "\n"


def backup_names(name: str, now: float, exists) -> tuple[str, str]:
    """``<unix-time>.<name>.builder`` and ``.ring.gz`` (swift-ring-builder's own names); the
    first free second from now, so two runs in one second keep both backups."""
    stamp = int(now)
    while exists(f"{stamp}.{name}.builder") or exists(f"{stamp}.{name}.ring.gz"):
        stamp += 1
    return f"{stamp}.{name}.builder", f"{stamp}.{name}.ring.gz"


# ---------------------------------------------------------------------------------------------
# Apply: Swift's RingBuilder and RingData do the work.


def _swift_error(error: Exception) -> str:
    return str(error) or type(error).__name__


def _builder_devices(builder) -> list[dict]:
    """Devices of the builder as plain dicts, without those marked for removal."""
    # swift-ring-builder reads _remove_devs too: the builder has no public accessor for it.
    removing = {device["id"] for device in getattr(builder, "_remove_devs", [])}
    devices = []
    for device in builder.devs:
        if device is None or device["id"] in removing:
            continue
        plain = {field: device.get(field) for field in DEVICE_FIELDS}
        plain["ip"] = normalize_address(plain["ip"]) or plain["ip"]
        plain["replication_ip"] = normalize_address(plain["replication_ip"]) or plain["replication_ip"]
        plain["meta"] = plain["meta"] or ""
        plain["weight"] = float(plain["weight"])
        devices.append({"id": device["id"], **plain, "parts": device.get("parts", 0)})
    return devices


def _ring_status(builder, ring_file: str) -> str:
    if not os.path.exists(ring_file):
        return "missing"
    if builder is None:
        return "stale"
    try:
        on_disk = RingData.load(ring_file).to_dict()
    except Exception:  # an unreadable ring.gz is rewritten, whatever made it unreadable
        return "stale"
    # A copy: get_ring() caches its result, which the changes made later would not refresh.
    return "current" if copy.deepcopy(builder).get_ring().to_dict() == on_disk else "stale"


def read_state(builder, ring_file: str, wanted_min_part_hours: int) -> dict:
    """The builder (or its absence) as the plain data that ``plan`` takes."""
    if builder is None:
        return {"builder": False, "ring_file": _ring_status(None, ring_file)}
    removing = getattr(builder, "_remove_devs", [])
    # The wait is judged under the wanted min_part_hours: lowering it allows an earlier move.
    saved = builder.min_part_hours
    builder.change_min_part_hours(wanted_min_part_hours)
    seconds_left = builder.min_part_seconds_left
    builder.change_min_part_hours(saved)
    return {
        "builder": True,
        "part_power": builder.part_power,
        "replicas": float(builder.replicas),
        "min_part_hours": builder.min_part_hours,
        "devices": _builder_devices(builder),
        "pending": bool(builder.devs_changed or not builder.ever_rebalanced or removing),
        "next_part_power": builder.next_part_power,
        "min_part_seconds_left": seconds_left,
        "ring_file": _ring_status(builder, ring_file),
    }


def _swift_device(device: dict) -> dict:
    fields = _fields(device)
    if device.get("id") is not None:
        fields["id"] = device["id"]
    return fields


def apply(builder, steps: dict, wanted: dict):
    """Makes the changes of ``steps`` on the builder (a new one when created or rebuilt) and
    rebalances it when placement changed; returns the builder to save."""
    if steps["create"] or steps["rebuild"]:
        fresh = RingBuilder(wanted["part_power"], wanted["replicas"], wanted["min_part_hours"])
        if builder is not None:
            fresh.set_overload(builder.overload)
        # Kept devices first, with their ids; add_dev gives new ones the free ids after that.
        for device in sorted(steps["devices"], key=lambda device: device["id"] is None):
            fresh.add_dev(_swift_device(device))
        builder = fresh
    else:
        settings = steps["settings"]
        if "min_part_hours" in settings:
            builder.change_min_part_hours(wanted["min_part_hours"])
        if "replicas" in settings:
            builder.set_replicas(wanted["replicas"])
        info_changed = False
        for update in steps["update"]:
            dev_id, changes = update["id"], update["changes"]
            if "weight" in changes:
                builder.set_dev_weight(dev_id, changes["weight"][1])
            if "region" in changes:
                builder.set_dev_region(dev_id, changes["region"][1])
            if "zone" in changes:
                builder.set_dev_zone(dev_id, changes["zone"][1])
            for field in set(changes) - set(PLACEMENT_FIELDS):
                # As swift-ring-builder set_info does: these do not place partitions.
                builder.devs[dev_id][field] = changes[field][1]
                info_changed = True
        if info_changed:
            # The rewritten ring.gz then carries a version of its own.
            builder.version += 1
        for device in steps["remove"]:
            builder.remove_dev(device["id"])
        for device in steps["add"]:
            builder.add_dev(_swift_device(device))
    if steps["rebalance"]:
        if wanted["pretend_min_part_hours_passed"]:
            builder.pretend_min_part_hours_passed()
        builder.rebalance()
        builder.validate()
    return builder


def _backup(wanted: dict, now: float) -> list[str]:
    existing = [path for path in (wanted["builder_file"], wanted["ring_file"]) if os.path.exists(path)]
    if not existing:
        return []
    folder = wanted["backup_dir"]
    os.makedirs(folder, exist_ok=True)
    names = backup_names(wanted["name"], now, lambda name: os.path.exists(os.path.join(folder, name)))
    backups = []
    for source, name in zip((wanted["builder_file"], wanted["ring_file"]), names, strict=True):
        if source in existing:
            target = os.path.join(folder, name)
            shutil.copy2(source, target)
            backups.append(target)
    return backups


def _save_builder(builder, path: str, replace) -> None:
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    os.close(handle)
    try:
        builder.save(temporary)
        # mkstemp makes 0600: keep the old file's mode, or 0644 as swift-ring-builder leaves a new one.
        os.chmod(temporary, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644)
        replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _device_report(devices: list[dict]) -> list[dict]:
    keys = ("id", *DEVICE_FIELDS, "parts")
    return [{key: device.get(key) for key in keys} for device in devices]


def _figures(builder) -> tuple:
    if builder is None:
        return None, None
    try:
        balance = builder.get_balance()
    except swift_exceptions.RingBuilderError:  # no devices with weight yet
        balance = None
    return balance, builder.dispersion


def manage_ring(params: dict, check_mode: bool = False, replace=os.replace, now=time.time) -> dict:
    """Validates, plans and (unless check_mode) applies one ring; the module's result."""
    wanted = validate(params)
    subject = f"swift ring {wanted['name']}"
    if SWIFT_IMPORT_ERROR is not None:
        raise RingError(
            subject,
            message=f"the swift_ring module needs Swift's Python package on {socket.gethostname()}: "
            f"install python3-swift ({SWIFT_IMPORT_ERROR})",
        )
    if not os.path.isdir(wanted["path"]):
        raise RingError(
            subject, [option_problem("path", f"{wanted['path']} is not a folder on {socket.gethostname()}")]
        )
    builder = None
    if os.path.exists(wanted["builder_file"]):
        try:
            builder = RingBuilder.load(wanted["builder_file"])
        except (swift_exceptions.SwiftException, OSError) as error:
            raise RingError(subject, message=f"cannot load {wanted['builder_file']}: {_swift_error(error)}") from None
    current = read_state(builder, wanted["ring_file"], wanted["min_part_hours"])
    steps = plan(current, wanted)
    before = state_text(current if current["builder"] else None, wanted["name"])
    after_state = {**wanted, "devices": steps["devices"], "ring_file": "current"}
    result = {
        "changed": steps["changed"],
        "rebalanced": steps["rebalance"],
        "added": [label(device) for device in steps["add"]],
        "updated": [update["label"] for update in steps["update"]],
        "removed": [label(device) for device in steps["remove"]],
        "backups": [],
        "ring": wanted["ring_file"],
        "builder": wanted["builder_file"],
        "diff": {"before": before, "after": state_text(after_state, wanted["name"])},
    }
    if check_mode or not steps["changed"]:
        result["balance"], result["dispersion"] = _figures(builder)
        result["devices"] = _device_report(steps["devices"])
        return result
    try:
        builder = apply(builder, steps, wanted)
    except (swift_exceptions.SwiftException, ValueError) as error:
        raise RingError(
            subject, message=f"Swift's ring builder refused the change: {_swift_error(error)}; nothing was written"
        ) from None
    try:
        result["backups"] = _backup(wanted, now())
        if steps["write_builder"]:
            _save_builder(builder, wanted["builder_file"], replace)
        if steps["write_ring"]:
            # RingData.save writes a temporary file beside the ring.gz and renames it over.
            builder.get_ring().save(wanted["ring_file"])
    except Exception as error:  # atomic_move raises plain Exception; any failed write is reported
        raise RingError(subject, message=f"cannot write the ring files in {wanted['path']}: {error}") from None
    result["balance"], result["dispersion"] = _figures(builder)
    result["devices"] = _device_report(_builder_devices(builder))
    return result
