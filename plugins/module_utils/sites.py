# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Querying many sites at once: each in its own thread, each bounded by its own timeout.

A site that hangs costs its own timeout and nothing more: its thread is a daemon that is
abandoned when the timeout passes, so neither the other sites nor the process exit wait
for it (a ThreadPoolExecutor would join it at exit).
"""

from __future__ import annotations

import threading
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


def query_sites(jobs, max_workers: int = 16) -> dict:
    """Runs ``call()`` for each ``(site_name, timeout, call)``; returns {site_name: SiteResult}.

    A call that raises SiteError gives its message as the error; any other exception gives
    its type and message (a provider bug must not hide the other sites either).
    """
    pending = list(jobs)
    running: dict = {}  # site name -> (deadline, started)
    results: dict = {}
    done = threading.Condition()

    def work(name, call, started):
        try:
            value, error = call(), None
        except SiteError as failure:
            value, error = None, str(failure)
        except Exception as failure:  # reported per site, never raised
            value, error = None, f"{type(failure).__name__}: {failure}"
        with done:
            if name not in results:  # not already given up on
                results[name] = SiteResult(name, value, error, time.monotonic() - started)
            done.notify_all()

    with done:
        while pending or running:
            while pending and len(running) < max(1, max_workers):
                name, timeout, call = pending.pop(0)
                started = time.monotonic()
                running[name] = (started + timeout, started, timeout)
                threading.Thread(target=work, args=(name, call, started), daemon=True, name=f"site-{name}").start()
            for name in [name for name in running if name in results]:
                del running[name]
            if not running:
                continue
            now = time.monotonic()
            for name, (deadline, started, timeout) in list(running.items()):
                if now >= deadline:
                    results[name] = SiteResult(name, None, f"no answer within {timeout:g}s", now - started)
                    del running[name]
            if running:
                done.wait(timeout=max(0.0, min(deadline for deadline, _started, _timeout in running.values()) - now))
    return results
