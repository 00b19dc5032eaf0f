# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployments kept on the backbone's object storage, so that every controller sees them.

One object per deployment, ``<name>.json``, in one container of the PaaS's Swift account: the
same document as the folder store writes (state.py), replicated over the backbone's regions,
read with ``X-Newest`` so a controller never acts on an older copy. The same interface as
``state.DeploymentStore``: read, write, names, delete, locked.

A run holds a deployment through a lock object, ``<name>.lock``, created with
``If-None-Match: *``: Swift refuses to create it when it exists, so of two controllers that try
at once one gets it and the other is told who holds it and since when. Two creations at the
very same moment can both be accepted (each object server checks its own disk); the newest one
is the object, so each reads it back and only the one it names goes on. A lock carries an
expiry: a controller that died while holding it (an AWX job killed) does not block the
deployment forever; a run renews it at every write.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
import uuid

from ansible_collections.infn.cloud.plugins.module_utils.deployment.state import StateError, checked_document, now

try:
    from swiftclient.exceptions import ClientException

    HAS_SWIFTCLIENT = True
except ImportError:  # pragma: no cover - reported by the caller

    class ClientException(Exception):
        """Stands for swiftclient's when it is not installed (never raised then)."""

        http_status = None

    HAS_SWIFTCLIENT = False

DEFAULT_CONTAINER = "infn-cloud-deployments"
# A run renews its lock at every write; one that writes nothing for this long has died.
LOCK_SECONDS = 3600
NEWEST = {"X-Newest": "true"}


def holder_name() -> str:
    """Who holds a lock: user, controller and process (an AWX job's container has its own name)."""
    return f"{getpass.getuser()}@{socket.gethostname()} (process {os.getpid()})"


class SwiftStore:
    """Deployments in ``container`` of the Swift account ``connect()`` reaches.

    connect: makes a python-swiftclient Connection (called once, when first needed).
    work_folder: this controller's scratch folder for a run's compiled playbooks and events.
    """

    def __init__(
        self,
        connect,
        container: str = DEFAULT_CONTAINER,
        work_folder: str = "",
        holder: str | None = None,
        lock_seconds: float = LOCK_SECONDS,
    ):
        self._connect = connect
        self._connection = None
        self.container = container
        self.folder = os.path.abspath(os.path.expanduser(work_folder)) if work_folder else ""
        self.holder = holder or holder_name()
        self.lock_seconds = lock_seconds
        self._locks: dict = {}  # deployment name -> token of the lock this store holds

    @property
    def connection(self):
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def path(self, name: str) -> str:
        return f"swift:{self.container}/{name}.json"

    def _call(self, what: str, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ClientException as error:
            raise StateError(f"cannot {what}: {_reason(error)}") from None
        except OSError as error:  # the proxy cannot be reached
            raise StateError(f"cannot {what}: {error}") from None

    def _newest(self, object_name: str) -> bytes | None:
        """The newest copy of an object of the container, or None when there is none."""
        try:
            _headers, body = self.connection.get_object(self.container, object_name, headers=NEWEST)
        except ClientException as error:
            if error.http_status == 404:
                return None
            raise
        return body

    def read(self, name: str) -> dict | None:
        """The document, or None when the deployment was never recorded."""
        where = f"read the deployment state {self.path(name)}"
        body = self._call(where, self._newest, f"{name}.json")
        if body is None:
            return None
        try:
            document = json.loads(body)
        except ValueError as error:
            raise StateError(f"cannot {where}: {error}") from None
        return checked_document(document, self.path(name))

    def names(self) -> list:
        try:
            _headers, listing = self.connection.get_container(self.container, full_listing=True, headers=NEWEST)
        except ClientException as error:
            if error.http_status == 404:
                return []
            raise StateError(f"cannot list Swift container {self.container}: {_reason(error)}") from None
        return sorted(entry["name"][: -len(".json")] for entry in listing if entry["name"].endswith(".json"))

    def write(self, document: dict) -> None:
        """Replaces the document in one step (Swift replaces an object whole) while this store
        holds its lock, and renews the lock; StateError when the lock expired and another run
        took it (nothing is written then)."""
        document["timings"]["updated"] = now()
        name = document["name"]
        if name in self._locks:
            held = self._call(f"read the lock swift:{self.container}/{name}.lock", self._lock_held, name)
            if held is None or held.get("token") != self._locks[name]:
                taker = f"{held.get('holder')} since {held.get('since')}" if held else "nobody (it was removed)"
                raise StateError(
                    f"deployment {name!r}: this run's lock expired and is now held by {taker}; nothing was written"
                )
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        self._call(
            f"write the deployment state {self.path(name)}",
            self.connection.put_object,
            self.container,
            f"{name}.json",
            text.encode("utf-8"),
            content_type="application/json",
        )
        if name in self._locks:
            self._put_lock(name, self._locks[name])

    def delete(self, name: str) -> None:
        with contextlib.suppress(ClientException):
            self.connection.delete_object(self.container, f"{name}.json")

    # ---- the lock ----

    def _put_lock(self, name: str, token: str, create: bool = False) -> None:
        lock = {"holder": self.holder, "since": now(), "expires": time.time() + self.lock_seconds, "token": token}
        headers = {"If-None-Match": "*"} if create else {}
        self.connection.put_object(self.container, f"{name}.lock", json.dumps(lock).encode("utf-8"), headers=headers)

    def _lock_held(self, name: str) -> dict | None:
        """The lock object as it stands (the newest copy), or None when there is none."""
        body = self._newest(f"{name}.lock")
        if body is None:
            return None
        try:
            found = json.loads(body)
        except ValueError:
            found = None
        return found if isinstance(found, dict) else {"holder": "an unreadable lock", "since": "?", "expires": 0}

    @contextlib.contextmanager
    def locked(self, name: str, wait: float = 0):
        """Holds the deployment's lock; StateError naming the holder when another run has it
        after wait seconds."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        self._call(f"create Swift container {self.container}", self.connection.put_container, self.container)
        while True:
            try:
                self._put_lock(name, token, create=True)
                held = self._lock_held(name)
                if held is not None and held.get("token") == token:
                    break
            except ClientException as error:
                if error.http_status != 412:  # 412: the lock exists
                    raise StateError(f"cannot lock deployment {name!r} in {self.container}: {_reason(error)}") from None
                held = self._call(f"read the lock swift:{self.container}/{name}.lock", self._lock_held, name)
            except OSError as error:
                raise StateError(f"cannot lock deployment {name!r} in {self.container}: {error}") from None
            if held is not None and held.get("expires", 0) < time.time():
                # Its holder died (no write renewed it): the next creation may take it.
                with contextlib.suppress(ClientException):
                    self.connection.delete_object(self.container, f"{name}.lock")
                continue
            if time.monotonic() >= deadline:
                holder = held or {"holder": "another run", "since": "?"}
                raise StateError(
                    f"deployment {name!r} is being worked on by {holder.get('holder')} since {holder.get('since')}"
                    f"; its lock is swift:{self.container}/{name}.lock"
                )
            time.sleep(0.5)
        self._locks[name] = token
        try:
            yield
        finally:
            del self._locks[name]
            with contextlib.suppress(ClientException, OSError):
                held = self._lock_held(name)
                if held is not None and held.get("token") == token:
                    self.connection.delete_object(self.container, f"{name}.lock")


def _reason(error) -> str:
    status = getattr(error, "http_status", None)
    reason = getattr(error, "http_reason", "") or str(error)
    return f"{status} {reason}".strip() if status else reason
