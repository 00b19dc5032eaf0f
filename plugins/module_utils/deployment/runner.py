# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a compiled service playbook through ansible-runner, its events turned into progress.

The plan says whose each play is (``Plan.plays``: play name -> node and lifecycle step): a
play's start says which node is at which step; a failed or unreachable task says which node
failed, on which host, and why. The outputs come from the ``set_stats`` of the compiled
playbook's last play.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field

try:
    import ansible_runner

    HAS_ANSIBLE_RUNNER = True
except ImportError:
    ansible_runner = None
    HAS_ANSIBLE_RUNNER = False

# Compiler steps -> the node state while the step runs and once it is done.
STEP_STATES = {
    "create": ("creating", "created"),
    "configure": ("configuring", "configured"),
    "start": ("starting", "started"),
}


@dataclass
class RunResult:
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    rc: int | None
    failures: list = field(default_factory=list)  # {"node", "play", "task", "host", "msg"}
    outputs: dict = field(default_factory=dict)
    tail: str = ""  # ansible-playbook's last lines, when it failed before any task did

    @property
    def ok(self) -> bool:
        return self.status == "successful"

    def reason(self) -> str:
        if self.failures:
            first = self.failures[0]
            where = f"{first['node']}: " if first.get("node") else ""
            return f"{where}task '{first['task']}' on {first['host']}: {first['msg']}"
        if self.status == "timeout":
            return "the configuration did not finish within the site's time"
        return f"ansible-playbook ended {self.status} (rc {self.rc})" + (f": {self.tail}" if self.tail else "")


def _message(result: dict) -> str:
    text = result.get("msg") or result.get("stderr") or result.get("reason") or ""
    if not text and result.get("results"):  # a loop: the first failed item's message
        failed = next((item for item in result["results"] if item.get("failed")), {})
        text = failed.get("msg") or failed.get("stderr") or ""
    return " ".join(str(text).split())[:500] or "failed without a message"


def run_playbook(
    private_dir: str,
    playbook: str,
    inventory: dict,
    timeout: float,
    on_node=None,
    envvars: dict | None = None,
    extravars: dict | None = None,
    plays: dict | None = None,
) -> RunResult:
    """Runs the playbook; on_node(node, state) is called as nodes move through their steps.
    plays maps the plays of the nodes' operations to their PlayStep (plan.py); any other play
    (an imported playbook's own, the service's outputs) belongs to no node."""
    plays = plays or {}

    def node_of(play: str) -> tuple:
        found = plays.get(play)
        if found is None:
            return None, None
        return found.node, found.step if found.step in STEP_STATES else None

    if not HAS_ANSIBLE_RUNNER:
        raise RuntimeError("ansible-runner is not installed (it is in the collection's requirements.txt)")
    failures: list = []
    outputs: dict = {}
    current = {"node": None, "step": None}

    def finish_current():
        node, step = current["node"], current["step"]
        if node and step and not any(f["node"] == node for f in failures) and on_node:
            on_node(node, STEP_STATES[step][1])

    def handle(event: dict) -> bool:
        data = event.get("event_data") or {}
        kind = event.get("event")
        if kind == "playbook_on_play_start":
            node, step = node_of(data.get("play", ""))
            if node:  # an imported playbook's own plays belong to the operation before them
                finish_current()
                current.update(node=node, step=step)
                if step and on_node:
                    on_node(node, STEP_STATES[step][0])
        elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            node = node_of(data.get("play", ""))[0] or current["node"]
            failures.append(
                {
                    "node": node,
                    "play": data.get("play", ""),
                    "task": data.get("task", ""),
                    "host": data.get("host", ""),
                    "msg": ("unreachable: " if kind == "runner_on_unreachable" else "")
                    + _message(data.get("res") or {}),
                }
            )
            if node and on_node:
                on_node(node, "error")
        elif kind == "playbook_on_stats":
            finish_current()
            current.update(node=None, step=None)
            outputs.update((data.get("artifact_data") or {}).get("tosca_outputs") or {})
        return True  # keep the event in the artifacts too

    shutil.rmtree(os.path.join(private_dir, "artifacts"), ignore_errors=True)  # one run's events at a time
    os.makedirs(private_dir, mode=0o700, exist_ok=True)
    # The ansible-playbook beside this Python first: the one of the controller running us.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    runner = ansible_runner.run(
        private_data_dir=private_dir,
        playbook=playbook,
        inventory=inventory,
        extravars=extravars or {},
        # Plain text: the last lines of a failed run become an error message.
        envvars={"PATH": path, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(envvars or {})},
        timeout=max(1, int(timeout)),
        quiet=True,
        event_handler=handle,
        rotate_artifacts=1,
    )
    result = RunResult(runner.status, runner.rc, failures, outputs)
    if not result.ok and not failures:
        result.tail = _last_lines(runner.stdout)
    return result


def _last_lines(stream, count: int = 3) -> str:
    """The last lines ansible-playbook printed (a syntax error, a missing role...), as one line."""
    try:
        lines = [line.strip() for line in stream.read().splitlines() if line.strip()]
    except (OSError, ValueError, AttributeError):
        return ""
    return " ".join(lines[-count:])[-500:]
