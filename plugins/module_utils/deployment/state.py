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


def checked_document(document, where: str) -> dict:
    """document when it is a deployment state of this schema; StateError naming where otherwise
    (every store reads through this)."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_VERSION:
        found = document.get("schema") if isinstance(document, dict) else None
        raise StateError(f"{where}: not a deployment state of schema {SCHEMA_VERSION} (schema {found!r})")
    return document


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


class Deployment:
    """One deployment's state document and every change it goes through, each written at once.

    The orchestrator says what happened (an attempt started, hosts are up, a node moved on, the
    configuration ended...); only this class changes the document (docs/paas.md, "The state
    document").
    """

    def __init__(self, store: DeploymentStore, document: dict):
        self.store = store
        self.document = document

    @classmethod
    def read(cls, store: DeploymentStore, name: str) -> Deployment | None:
        document = store.read(name)
        return None if document is None else cls(store, document)

    @property
    def name(self) -> str:
        return self.document["name"]

    @property
    def status(self) -> str:
        return self.document["status"]

    @property
    def site(self) -> str | None:
        return self.document.get("site")

    @property
    def nodes(self) -> dict:
        return self.document["nodes"]

    @property
    def attempts(self) -> list:
        return self.document["attempts"]

    def save(self) -> None:
        self.store.write(self.document)

    # ---- deploying ----

    @classmethod
    def begin(cls, store, found: Deployment | None, request, digest: str, plan, ranking: list) -> Deployment:
        """A run that deploys: a new document when there is none (or the last one was deleted);
        a failed one's attempts kept apart, as the new run makes its own."""
        if found is None or found.status == DELETE_COMPLETE:
            deployment = cls(store, new_document(request.name, request.project, request.template, digest))
        else:
            deployment = found
            if found.status == CREATE_FAILED:
                document = found.document
                document["previous_attempts"] = document.get("previous_attempts", []) + document["attempts"]
                document["attempts"] = []
        document = deployment.document
        document.update(
            status=CREATE_IN_PROGRESS,
            status_reason="",
            digest=digest,
            ranking=ranking,
            project=request.project,
            teardown=plan.teardown,
            plays={play: step.node for play, step in plan.plays.items()},
        )
        document["nodes"] = {name: document["nodes"].get(name, {"state": "initial"}) for name in plan.node_order}
        deployment.save()
        return deployment

    def start_attempt(self, site: str) -> tuple[dict, bool]:
        """(the attempt on site, whether it resumes one a killed run left running there)."""
        resuming = self.site == site and any(a["site"] == site and a.get("status") == "running" for a in self.attempts)
        if resuming:
            attempt = next(a for a in reversed(self.attempts) if a["site"] == site)
            attempt["resumed"] = attempt.get("resumed", 0) + 1
        else:
            attempt = {"site": site, "started": now(), "status": "running", "phase": "provision"}
            self.attempts.append(attempt)
        self.document["site"] = site
        self.save()
        return attempt, resuming

    def node_state(self, node: str, state: str) -> None:
        self.nodes.setdefault(node, {}).update(state=state, updated=now())
        self.save()

    def provisioned(self, attempt: dict, site: str, hosts: list, groups: dict, volumes: list, seconds: float) -> None:
        """The hosts (providers' ProvisionedHost) and volumes made on site: the configuration is next."""
        attempt["provision_seconds"] = round(seconds, 2)
        # What was made there, kept even after a cleanup: the record of the attempt.
        attempt["hosts"] = [
            {"node": h.node, "name": h.name, "address": h.address, "public_address": h.public_address, **h.facts}
            for h in hosts
        ]
        for host in hosts:
            entry = self.nodes.setdefault(host.node, {})
            entry.update(
                host=host.name,
                group=groups.get(host.node),
                address=host.address,
                public_address=host.public_address,
                connection=host.connection,
                site=site,
            )
            if entry.get("state") in ("initial", "creating", "error", None):
                entry["state"] = "created"
        for volume in volumes:
            self.nodes.setdefault(volume, {}).update(state="created", site=site)
        attempt["phase"] = "configure"
        self.save()

    def attempt_failed(self, attempt: dict, phase: str, error: str) -> None:
        attempt.update(status="failed", phase=phase, error=error, ended=now())
        self.save()

    def cleaned_up(self, attempt: dict, cleanup_error: str | None) -> None:
        """What the failed attempt made is removed (or cleanup_error says what stays)."""
        attempt["cleaned"] = cleanup_error is None
        if cleanup_error:
            attempt["cleanup_error"] = cleanup_error
        for entry in self.nodes.values():
            if entry.get("site") == attempt["site"] or entry.get("state") != "initial":
                entry.update(state="initial", host=None, address=None, public_address=None, site=None)
        self.document["site"] = None
        self.save()

    def configured(self, attempt: dict, outputs: dict) -> None:
        """The whole playbook ran: every node is up, the service is complete."""
        for entry in self.nodes.values():
            entry["state"] = "started"
        attempt.update(status="succeeded", ended=now())
        self.document.update(status=CREATE_COMPLETE, status_reason="", outputs=outputs)
        self.save()

    def configure_took(self, attempt: dict, seconds: float) -> None:
        """How long the configuration ran (saved with what it ended in)."""
        attempt["configure_seconds"] = round(seconds, 2)

    def deployed(self, seconds: float) -> None:
        self.document["timings"]["deploy_seconds"] = round(seconds, 2)
        self.save()

    def failed(self, reason: str) -> None:
        self.document.update(status=CREATE_FAILED, status_reason=reason)
        self.save()

    # ---- undeploying ----

    def deleting(self) -> None:
        self.document.update(status=DELETE_IN_PROGRESS, status_reason="")
        self.save()

    def delete_failed(self, reason: str) -> None:
        self.document.update(status=DELETE_FAILED, status_reason=reason)
        self.save()

    def deleted(self, seconds: float) -> None:
        for entry in self.nodes.values():
            entry.update(state="deleted", updated=now())
        self.document.update(status=DELETE_COMPLETE, outputs={}, site=None)
        self.document["timings"]["undeploy_seconds"] = round(seconds, 2)
        self.save()


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
        return checked_document(document, path)

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
