# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""infn.cloud.tosca: validates a TOSCA service template, or compiles it into a playbook, on the
controller (the documentation and the options are in plugins/modules/tosca.py).

All the TOSCA work is the engine's (plugins/module_utils/tosca); this plugin finds the files the
way Ansible finds a task's files, turns the engine's problems into a failed result an operator
can read, and decides ``changed`` (and the check-mode and diff results) by comparing what the
compiler writes with what was in ``dest``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.errors import AnsibleFileNotFound
from ansible.plugins.action import ActionBase

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, Problem
from ansible_collections.infn.cloud.plugins.module_utils.tosca.compiler import compile_file, validate_file
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import input_specs
from ansible_collections.infn.cloud.plugins.modules.tosca import ARGUMENT_SPEC, REQUIRED_IF

REGISTRY_KEYS = ("role", "vars")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)[1]
        # Ansible's tagged strings and lazy containers become plain values: the engine dumps
        # inputs to YAML and keeps the registry's role variables.
        args = plain(args)
        bad = option_problems(args)
        if bad:
            message = (
                bad[0]
                if len(bad) == 1
                else f"{len(bad)} problems with the options:\n" + "\n".join(f"- {p}" for p in bad)
            )
            return {**result, "failed": True, "msg": message}
        try:
            src = self._find_needle("files", args["src"])
        except AnsibleFileNotFound as error:
            searched = "\n".join(f"  {path}" for path in dict.fromkeys(error.paths or []))
            return {**result, "failed": True, "msg": f"TOSCA template {args['src']} not found; looked for:\n{searched}"}
        result["src"] = src
        import_map = {url: self._controller_path(local) for url, local in args["import_map"].items()}
        doing = "validating" if args["state"] == "validated" else "compiling"
        try:
            if args["state"] == "validated":
                topology = validate_file(src, args["inputs"], import_map, args["allow_network"])
                found = topology.service.warnings
                result.update(
                    changed=False,
                    nodes=[{"name": name, "type": node.type.name} for name, node in topology.nodes.items()],
                    inputs=[spec.as_dict() for spec in input_specs(topology)],
                    outputs=list(topology.outputs),
                )
            else:
                plan, found, changes = self._compile(src, args, import_map)
                result.update(plan, changed=bool(changes))
                if changes and self._task.diff:
                    result["diff"] = changes
            warnings = [problem_dict(problem) for problem in found]
            shown = [str(problem) for problem in found]
        except DescriptionError as error:
            problems = error.problems
            count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
            return {
                **result,
                "failed": True,
                "msg": f"{count} in {src}:\n" + "\n".join(str(problem) for problem in problems),
                "problems": [problem_dict(problem) for problem in problems],
            }
        except OSError as error:  # dest cannot be written (the engine reports unreadable templates itself)
            return {**result, "failed": True, "msg": f"cannot finish {doing} the TOSCA template {src}: {error}"}
        except Exception as error:  # an engine bug must still read as a failed task, not a traceback
            return {
                **result,
                "failed": True,
                "msg": f"unexpected error while {doing} the TOSCA template {src}: {type(error).__name__}: {error} "
                "(a bug of infn.cloud's TOSCA engine: please report it with the template)",
            }
        result["template_warnings"] = warnings
        if shown:
            result["warnings"] = shown
        return plain(result)

    def _controller_path(self, path: str) -> str:
        """A path on the controller; relative ones are relative to the playbook's folder."""
        return self._loader.path_dwim(os.path.expanduser(path))

    def _compile(self, src: str, args: dict, import_map: dict) -> tuple[dict, list, list]:
        """The plan as returned, its warnings, and the diff of each compiled file that changes in dest.

        The compiler gives the files' texts: they are compared with dest's, and written only
        when not in check mode.
        """
        dest = self._controller_path(args["dest"])
        compiled = compile_file(
            src,
            dest,
            args["inputs"],
            import_map,
            args["role_registry"],
            args["allow_network"],
            args["name"],
            write=False,
        )
        before = _yaml_files(dest)
        changes = []
        for file_name, text in compiled.files.items():
            path = os.path.join(compiled.output_dir, file_name)
            old = before.get(file_name)
            if old != text:
                changes.append(
                    {
                        "before": old or "",
                        "after": text,
                        "before_header": path if old is not None else f"{path} (absent)",
                        "after_header": path,
                    }
                )
        if not self._task.check_mode:
            compiled.write()
        plan = compiled.as_dict()
        del plan["warnings"]  # returned as template_warnings, with their positions
        return plan, compiled.warnings, changes


def _yaml_files(folder: str) -> dict:
    """The text of the .yml files directly in folder, by name: what the compiler may replace."""
    if not os.path.isdir(folder):
        return {}
    return {
        entry.name: _read(entry.path) for entry in os.scandir(folder) if entry.name.endswith(".yml") and entry.is_file()
    }


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def option_problems(args: dict) -> list[str]:
    """Every bad entry of import_map and role_registry, whose values the argument spec leaves free."""
    problems = []
    for url, local in args["import_map"].items():
        if not isinstance(local, str) or not local:
            problems.append(f"import_map[{url!r}]: expected the path of a local file or folder, got {local!r}")
    for type_name, role in args["role_registry"].items():
        where = f"role_registry[{type_name!r}]"
        if isinstance(role, str) and role:
            continue
        if not isinstance(role, Mapping):
            problems.append(f"{where}: expected a role name or {{role: <name>, vars: {{...}}}}, got {role!r}")
            continue
        unknown = sorted(set(role) - set(REGISTRY_KEYS))
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(map(str, unknown))}: expected role and vars")
        if not isinstance(role.get("role"), str) or not role.get("role"):
            problems.append(f"{where}.role: expected a role name, got {role.get('role')!r}")
        if not isinstance(role.get("vars", {}), Mapping):
            problems.append(f"{where}.vars: expected a mapping of variables, got {role['vars']!r}")
    return problems


def problem_dict(problem: Problem) -> dict:
    return {
        "file": problem.mark.file,
        "line": problem.mark.line,
        "column": problem.mark.column,
        "path": problem.path,
        "message": problem.message,
    }


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
