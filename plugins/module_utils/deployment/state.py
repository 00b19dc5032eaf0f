# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of one deployment: one JSON document, written atomically, under a lock.

The document (docs/paas.md, "Deployment state") says where a deployment is: its status,
each node's state, the site it runs on, every attempt with its error, its outputs and
timings. ``DeploymentStore.locked(name)`` holds an exclusive ``flock`` on ``<name>.lock`` for
as long as a run works on the deployment, so two runs cannot interleave; the kernel drops the
lock when the process dies, which is what lets a killed run be resumed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import tempfile
import time

SCHEMA_VERSION = 1

CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
CREATE_COMPLETE = "CREATE_COMPLETE"
CREATE_FAILED = "CREATE_FAILED"
DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
DELETE_COMPLETE = "DELETE_COMPLETE"
DELETE_FAILED = "DELETE_FAILED"
STATUSES = (CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED, DELETE_IN_PROGRESS, DELETE_COMPLETE, DELETE_FAILED)

# A node's own states, in the order a deployment walks them.
NODE_STATES = ("initial", "creating", "created", "configuring", "configured", "starting", "started", "error", "deleted")

NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
NAME_HELP = "1 to 40 lowercase letters, digits and '-', starting and ending with a letter or digit"


class StateError(Exception):
    """The state cannot be read, written or locked; the message says which file and why."""


def default_folder() -> str:
    """$XDG_DATA_HOME/infn.cloud/deployments, or ~/.local/share/infn.cloud/deployments."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "infn.cloud", "deployments")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_document(name: str, project: str, template: str, digest: str) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "name": name,
        "project": project,
        "template": template,
        "digest": digest,
        "teardown": True,  # set from the compiled plan at each deploy
        "status": CREATE_IN_PROGRESS,
        "status_reason": "",
        "site": None,
        "ranking": [],
        "attempts": [],
        "nodes": {},
        "resources": {},
        "outputs": {},
        "timings": {"created": now(), "updated": now()},
    }


class DeploymentStore:
    """The folder holding every deployment's ``<name>.json`` (and its ``.lock``)."""

    def __init__(self, folder: str):
        self.folder = os.path.abspath(os.path.expanduser(folder))

    def path(self, name: str) -> str:
        return os.path.join(self.folder, f"{name}.json")

    def read(self, name: str) -> dict | None:
        """The document, or None when the deployment was never recorded."""
        path = self.path(name)
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise StateError(f"cannot read the deployment state {path}: {error}") from None
        if not isinstance(document, dict) or document.get("schema") != SCHEMA_VERSION:
            raise StateError(
                f"{path}: not a deployment state of schema {SCHEMA_VERSION} (schema {document.get('schema') if isinstance(document, dict) else None!r})"
            )
        return document

    def names(self) -> list:
        try:
            entries = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return sorted(entry[: -len(".json")] for entry in entries if entry.endswith(".json"))

    def write(self, document: dict) -> None:
        """Replaces the document in one step: a reader sees the old one or the new one, whole."""
        document["timings"]["updated"] = now()
        path = self.path(document["name"])
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{document['name']}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(document, stream, indent=2, sort_keys=True)
                    stream.write("\n")
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, 0o600)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as error:
            raise StateError(f"cannot write the deployment state {path}: {error}") from None

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(name))

    @contextlib.contextmanager
    def locked(self, name: str, wait: float = 0):
        """Holds the deployment's lock; StateError when another run holds it after wait seconds."""
        path = os.path.join(self.folder, f"{name}.lock")
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StateError(f"cannot open the lock {path}: {error}") from None
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise StateError(f"cannot lock {path}: {error}") from None
                    if time.monotonic() >= deadline:
                        holder = _read_holder(descriptor)
                        raise StateError(
                            f"deployment {name!r} is being worked on by another run{holder}; its lock is {path}"
                        ) from None
                    time.sleep(0.2)
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.close(descriptor)  # closing drops the lock


def _read_holder(descriptor: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(descriptor, 0, os.SEEK_SET)
        pid = int(os.read(descriptor, 32).decode().strip())
        return f" (process {pid})"
    return ""
