# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tosca and tosca_deploy action plugins share, on the controller.

Their common options checked (import_map and role_registry, whose values the argument spec
leaves free), files found the way Ansible finds a task's files, and every failure returned in
the collection's one shape: ``msg`` and ``problems`` (diagnostics.failure).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.errors import AnsibleFileNotFound
from ansible.plugins.action import ActionBase

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import failure, option_problem

REGISTRY_KEYS = ("role", "vars")


class TaskFailure(Exception):
    """Ends the task with this result (msg, and problems when there are)."""

    def __init__(self, result: dict):
        super().__init__(result["msg"])
        self.result = result


class TemplateAction(ActionBase):
    """An action plugin that reads a TOSCA template on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def checked_options(self, argument_spec: dict, required_if: list, more_problems=None) -> dict:
        """The task's options as plain data; TaskFailure naming every bad one."""
        args = plain(self.validate_argument_spec(argument_spec=argument_spec, required_if=required_if)[1])
        problems = option_problems(args) + (more_problems(args) if more_problems else [])
        if problems:
            raise TaskFailure(failure(problems, "the options"))
        return args

    def controller_path(self, path: str) -> str:
        """A path on the controller; relative ones are relative to the playbook's folder."""
        return self._loader.path_dwim(os.path.expanduser(path))

    def import_map(self, args: dict) -> dict:
        return {url: self.controller_path(local) for url, local in args["import_map"].items()}

    def find_template(self, name: str) -> str:
        """The template as Ansible finds a task's files (files/ of the role or playbook first)."""
        try:
            return self._find_needle("files", name)
        except AnsibleFileNotFound as error:
            searched = "\n".join(f"  {path}" for path in dict.fromkeys(error.paths or []))
            raise TaskFailure({"msg": f"TOSCA template {name} not found; looked for:\n{searched}"}) from None


def option_problems(args: dict) -> list:
    """Every bad entry of import_map and role_registry."""
    problems = []
    for url, local in args["import_map"].items():
        if not isinstance(local, str) or not local:
            problems.append(
                option_problem(f"import_map[{url!r}]", f"expected the path of a local file or folder, got {local!r}")
            )
    for type_name, role in args["role_registry"].items():
        where = f"role_registry[{type_name!r}]"
        if isinstance(role, str) and role:
            continue
        if not isinstance(role, Mapping):
            problems.append(
                option_problem(where, f"expected a role name or {{role: <name>, vars: {{...}}}}, got {role!r}")
            )
            continue
        unknown = sorted(set(role) - set(REGISTRY_KEYS))
        if unknown:
            problems.append(
                option_problem(where, f"unknown key(s) {', '.join(map(str, unknown))}: expected role and vars")
            )
        if not isinstance(role.get("role"), str) or not role.get("role"):
            problems.append(option_problem(f"{where}.role", f"expected a role name, got {role.get('role')!r}"))
        if not isinstance(role.get("vars", {}), Mapping):
            problems.append(option_problem(f"{where}.vars", f"expected a mapping of variables, got {role['vars']!r}"))
    return problems


def plain(value):
    """value with plain Python types only: no Ansible tags or lazy containers, no engine str
    subclasses; anything else is shown as text."""
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(item) for item in value]
    if value is None or type(value) in (str, bool, int, float):
        return value
    for kind in (bool, int, float):
        if isinstance(value, kind):
            return kind(value)
    return str(value)
