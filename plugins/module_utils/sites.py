# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Querying many sites at once: each in a child process, each bounded by its own timeout.

A site that hangs costs its own timeout and nothing more: its child is killed when the
timeout passes. Threads would not do: an abandoned thread stuck in a cloud SDK can hold a
lock that the interpreter needs at exit, and the whole run then hangs at the very end.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from dataclasses import dataclass

from ansible_collections.infn.cloud.plugins.module_utils.providers.base import SiteError


@dataclass
class SiteResult:
    site: str
    value: object = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _run_child(call, writer: int) -> None:
    """In the child: run the call, send (value, error) back, leave without cleanup."""
    try:
        try:
            outcome = (call(), None)
        except SiteError as failure:
            outcome = (None, str(failure))
        except Exception as failure:  # reported per site, never raised
            outcome = (None, f"{type(failure).__name__}: {failure}")
        try:
            payload = pickle.dumps(outcome)
        except Exception as failure:
            payload = pickle.dumps((None, f"the site's answer could not be passed on: {failure}"))
        view = memoryview(payload)
        while view:
            view = view[os.write(writer, view) :]
    finally:
        os._exit(0)  # no atexit handlers, no flushing of the parent's buffers


def query_sites(jobs, max_workers: int = 16) -> dict:
    """Runs ``call()`` for each ``(site_name, timeout, call)``; returns {site_name: SiteResult}.

    A call that raises SiteError gives its message as the error; any other exception gives
    its type and message (a provider bug must not hide the other sites either). The calls'
    return values must be picklable.
    """
    pending = list(jobs)
    running: dict = {}  # reader fd -> (site name, pid, deadline, started, timeout, chunks)
    results: dict = {}
    while pending or running:
        while pending and len(running) < max(1, max_workers):
            name, timeout, call = pending.pop(0)
            reader, writer = os.pipe()
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child leaves through os._exit
                os.close(reader)
                _run_child(call, writer)
            os.close(writer)
            running[reader] = (name, pid, started + timeout, started, timeout, [])
        now = time.monotonic()
        wait = max(0.0, min(entry[2] for entry in running.values()) - now)
        readable, _writable, _broken = select.select(list(running), [], [], wait)
        for reader in readable:
            name, pid, _deadline, started, _timeout, chunks = running[reader]
            chunk = os.read(reader, 1 << 16)
            if chunk:
                chunks.append(chunk)
                continue
            del running[reader]
            os.close(reader)
            os.waitpid(pid, 0)
            try:
                value, error = pickle.loads(b"".join(chunks)) if chunks else (None, "the query ended without an answer")
            except Exception as failure:
                value, error = None, f"the site's answer could not be read: {failure}"
            results[name] = SiteResult(name, value, error, time.monotonic() - started)
        now = time.monotonic()
        for reader, (name, pid, deadline, started, timeout, _chunks) in list(running.items()):
            if now >= deadline:
                del running[reader]
                os.close(reader)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                results[name] = SiteResult(name, None, f"no answer within {timeout:g}s", now - started)
    return results
