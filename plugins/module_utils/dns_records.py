# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RRsets managed by dynamic update (RFC 2136) with TSIG, through dnspython.

All the records of one zone go in one UPDATE, each guarded by a prerequisite that its RRset
is still what was read, so a concurrent change makes the update fail instead of being
overwritten. Server answers become messages that name the records and the key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.rrset
    import dns.tsig
    import dns.tsigkeyring
    import dns.update

    HAS_DNSPYTHON = True
except ImportError:
    HAS_DNSPYTHON = False


class DnsError(Exception):
    """A failure with a message for the operator."""


@dataclass
class Record:
    name: object  # dns.name.Name, absolute
    zone: object  # dns.name.Name
    rdtype: object
    state: str
    ttl: int
    values: list = field(default_factory=list)  # dns.rdata.Rdata
    before: object = None  # dns.rrset.RRset or None

    @property
    def label(self) -> str:
        return f"{self.name.to_text()} {dns.rdatatype.to_text(self.rdtype)}"

    @property
    def changed(self) -> bool:
        if self.state == "absent":
            return self.before is not None
        if self.before is None:
            return True
        return self.before.ttl != self.ttl or set(self.before) != set(self.values)

    def view(self, rrset) -> dict:
        if rrset is None:
            return {"exists": False}
        return {"exists": True, "ttl": rrset.ttl, "values": sorted(rdata.to_text() for rdata in rrset)}

    def result(self) -> dict:
        after = None
        if self.state == "present":
            after = dns.rrset.from_rdata_list(self.name, self.ttl, self.values)
        return {
            "name": self.name.to_text(),
            "zone": self.zone.to_text(),
            "type": dns.rdatatype.to_text(self.rdtype),
            "state": self.state,
            "changed": self.changed,
            "before": self.view(self.before),
            "after": self.view(after),
        }


def read_key_file(path: str) -> tuple[str, str, str]:
    """(name, algorithm, secret) from a BIND key file (tsig-keygen's output)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise DnsError(f"cannot read the key file {path}: {error}") from None
    match = re.search(r'key\s+"?([^"\s]+)"?\s*\{[^}]*algorithm\s+([\w-]+);[^}]*secret\s+"([^"]+)";', text, re.S)
    if not match:
        raise DnsError(f'{path} is not a BIND key file (key "name" {{ algorithm ...; secret "..."; }};)')
    return match.group(1), match.group(2), match.group(3)


class Updater:
    def __init__(self, server: str, port: int, timeout: float, key_name=None, key_secret=None, key_algorithm=None):
        self.server, self.port, self.timeout = server, port, timeout
        self.key_name, self.key_algorithm = key_name, key_algorithm
        self.keyring = None
        if key_name:
            try:
                self.keyring = dns.tsigkeyring.from_text({key_name: (key_algorithm, key_secret)})
            except Exception as error:
                raise DnsError(
                    f"key {key_name!r}: not a usable {key_algorithm} secret ({type(error).__name__})"
                ) from None

    def records(self, specs: list, default_zone: str | None) -> list:
        records = []
        for index, spec in enumerate(specs):
            zone_text = spec.get("zone") or default_zone
            if not zone_text:
                raise DnsError(f"records[{index}] ({spec['name']}): no zone (set zone on the record or the task)")
            zone = dns.name.from_text(zone_text)
            name = _absolute(spec["name"], zone)
            if not name.is_subdomain(zone):
                raise DnsError(f"records[{index}]: {name.to_text()} is not in zone {zone.to_text()}")
            try:
                rdtype = dns.rdatatype.from_text(spec["type"])
                # Names in values absolute, as the server answers them: compared relative to the
                # zone, a CNAME or MX would differ from the server's on every run.
                values = [
                    dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, origin=zone, relativize=False)
                    for value in spec["values"]
                ]
            except Exception as error:
                raise DnsError(f"records[{index}] ({spec['name']} {spec['type']}): {error}") from None
            if spec["state"] == "present" and not values:
                raise DnsError(f"records[{index}] ({spec['name']}): state=present needs values")
            records.append(Record(name, zone, rdtype, spec["state"], spec["ttl"], values))
        return records

    def read(self, records: list) -> None:
        """Reads each RRset as the server has it now (over TCP: answers can be large)."""
        for record in records:
            query = dns.message.make_query(record.name, record.rdtype)
            query.flags &= ~dns.flags.RD
            response = self._send(query, [record], "query")
            rcode = response.rcode()
            if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                raise DnsError(f"{self.server} answered {dns.rcode.to_text(rcode)} when asked for {record.label}")
            if not response.flags & dns.flags.AA:
                raise DnsError(
                    f"{self.server} is not authoritative for {record.zone.to_text()} (asked for {record.label})"
                )
            record.before = next((rrset for rrset in response.answer if rrset.rdtype == record.rdtype), None)

    def apply(self, records: list) -> None:
        """One UPDATE per zone with the changed records, each with its prerequisite."""
        by_zone: dict = {}
        for record in records:
            if record.changed:
                by_zone.setdefault(record.zone, []).append(record)
        for zone, changes in by_zone.items():
            update = dns.update.UpdateMessage(zone, keyring=self.keyring, keyname=self.key_name)
            for record in changes:
                if record.before is None:
                    update.absent(record.name, record.rdtype)
                else:
                    # RFC 2136 prerequisites carry TTL 0 (servers answer FORMERR otherwise).
                    update.present(record.name, dns.rdataset.from_rdata_list(0, list(record.before)))
                if record.state == "present":
                    update.replace(record.name, record.ttl, *record.values)
                else:
                    update.delete(record.name, record.rdtype)
            try:
                response = self._send(update, changes, "update")
            except dns.tsig.PeerError as error:
                raise DnsError(self._key_rejected(error, zone)) from None
            rcode = response.rcode()
            if rcode != dns.rcode.NOERROR:
                raise DnsError(self._refusal(rcode, zone, changes))

    def _key_rejected(self, error, zone) -> str:
        """The server's TSIG error (BADKEY, BADSIG, BADTIME), said as its cause."""
        key = f"key {self.key_name!r}"
        if isinstance(error, dns.tsig.PeerBadKey):
            answer = f"BADKEY: it does not know {key} with algorithm {self.key_algorithm}"
        elif isinstance(error, dns.tsig.PeerBadSignature):
            answer = f"BADSIG: it knows {key} but not with this secret or algorithm"
        elif isinstance(error, dns.tsig.PeerBadTime):
            answer = f"BADTIME: the signature time of {key} is out of its window; the clocks here and there differ"
        else:
            answer = f"{type(error).__name__}: it did not accept {key}"
        not_primary = self._not_the_primary(zone, answer)
        if not_primary:
            return not_primary
        if isinstance(error, dns.tsig.PeerBadKey):
            return (
                f"{self.server} rejected the update of zone {zone.to_text()} ({answer}): check key_name and"
                " key_algorithm, or key_file (infn.cloud.dns keeps the zone's keys in <secrets folder>/dns/)"
            )
        return f"{self.server} rejected the update of zone {zone.to_text()} ({answer})"

    def _not_the_primary(self, zone, answer: str) -> str | None:
        """Why the server took no update, when the zone's SOA names another server as its primary:
        secondaries do not know the update keys (BADKEY) and refuse updates signed with the
        transfer key (REFUSED). None when the server is the primary, or does not say where that is."""
        soa = self._lookup(zone, dns.rdatatype.SOA)
        if soa is None:
            return None
        primary = soa[0].mname
        addresses = [
            rdata.address
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
            for rdata in self._lookup(primary, rdtype) or []
        ]
        try:
            if not addresses or ipaddress.ip_address(self.server) in map(ipaddress.ip_address, addresses):
                return None
        except ValueError:
            return None
        return (
            f"{self.server} is a secondary of zone {zone.to_text()}, which takes no updates ({answer});"
            f" the zone's primary per its SOA is {primary.to_text()} ({', '.join(addresses)}):"
            f" send updates there (server: {addresses[0]})"
        )

    def _lookup(self, name, rdtype):
        """The server's RRset for a name, or None if it has none or will not say."""
        query = dns.message.make_query(name, rdtype)
        query.flags &= ~dns.flags.RD
        try:
            response = dns.query.tcp(query, self.server, port=self.port, timeout=self.timeout)
        except (dns.exception.DNSException, OSError):
            return None
        return next((rrset for rrset in response.answer if rrset.rdtype == rdtype), None)

    def _refusal(self, rcode, zone, changes) -> str:
        names = ", ".join(record.label for record in changes)
        key = f"key {self.key_name!r}" if self.key_name else "no key"
        if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            not_primary = self._not_the_primary(zone, f"{dns.rcode.to_text(rcode)} with {key}")
            if not_primary:
                return not_primary
        reasons = {
            dns.rcode.REFUSED: f"refused the update of {names} with {key}: the key may not change these names",
            dns.rcode.NOTAUTH: f"did not accept {key} for zone {zone.to_text()} (NOTAUTH: unknown or wrong key, or not authoritative)",
            dns.rcode.NOTZONE: f"says {names} are not in zone {zone.to_text()} (NOTZONE)",
            dns.rcode.YXRRSET: f"has other values for {names} than were read: changed meanwhile, nothing applied (YXRRSET)",
            dns.rcode.NXRRSET: f"no longer has {names} as read: changed meanwhile, nothing applied (NXRRSET)",
            dns.rcode.YXDOMAIN: f"has names that must not exist among {names} (YXDOMAIN)",
            dns.rcode.NXDOMAIN: f"is missing a name among {names} (NXDOMAIN)",
            dns.rcode.SERVFAIL: f"failed to apply the update of {names} (SERVFAIL)",
        }
        return f"{self.server} " + reasons.get(rcode, f"answered {dns.rcode.to_text(rcode)} to the update of {names}")

    def _send(self, message, records, what):
        try:
            return dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout)
        except dns.exception.Timeout:
            raise DnsError(
                f"no answer from {self.server}:{self.port} within {self.timeout:g}s ({what} of {records[0].label})"
            ) from None
        except OSError as error:
            raise DnsError(f"cannot reach {self.server}:{self.port}: {error}") from None


def _absolute(name: str, zone):
    if name.endswith("."):
        return dns.name.from_text(name)
    if name in ("@", ""):
        return zone
    candidate = dns.name.from_text(name)
    return candidate if candidate.is_subdomain(zone) else dns.name.from_text(name, origin=zone)


def diff_text(results: list) -> tuple[str, str]:
    """Zone-file style before/after of the changed records, for --diff."""
    before, after = [], []
    for result in results:
        if not result["changed"]:
            continue
        for side, lines in (("before", before), ("after", after)):
            view = result[side]
            for value in view.get("values", []) if view["exists"] else []:
                lines.append(f"{result['name']} {view['ttl']} IN {result['type']} {value}")
    return "\n".join(before) + ("\n" if before else ""), "\n".join(after) + ("\n" if after else "")
