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

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, failure
from ansible_collections.infn.cloud.plugins.module_utils.tosca.compiler import compile_file, validate_file
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import input_specs
from ansible_collections.infn.cloud.plugins.modules.tosca import ARGUMENT_SPEC, REQUIRED_IF
from ansible_collections.infn.cloud.plugins.plugin_utils.tosca_action import TaskFailure, TemplateAction, plain


class ActionModule(TemplateAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            # Ansible's tagged strings and lazy containers become plain values: the engine dumps
            # inputs to YAML and keeps the registry's role variables.
            args = self.checked_options(ARGUMENT_SPEC, REQUIRED_IF)
            src = self.find_template(args["src"])
        except TaskFailure as stop:
            return {**result, "failed": True, **stop.result}
        result["src"] = src
        import_map = self.import_map(args)
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
        except DescriptionError as error:
            return {**result, "failed": True, **failure(error.problems, src)}
        except OSError as error:  # dest cannot be written (the engine reports unreadable templates itself)
            return {**result, "failed": True, "msg": f"cannot finish {doing} the TOSCA template {src}: {error}"}
        except Exception as error:  # an engine bug must still read as a failed task, not a traceback
            return {
                **result,
                "failed": True,
                "msg": f"unexpected error while {doing} the TOSCA template {src}: {type(error).__name__}: {error} "
                "(a bug of infn.cloud's TOSCA engine: please report it with the template)",
            }
        result["template_warnings"] = [problem.as_dict() for problem in found]
        if found:
            result["warnings"] = [str(problem) for problem in found]
        return plain(result)

    def _compile(self, src: str, args: dict, import_map: dict) -> tuple[dict, list, list]:
        """The plan as returned, its warnings, and the diff of each compiled file that changes in dest.

        The compiler gives the files' texts: they are compared with dest's, and written only
        when not in check mode.
        """
        dest = self.controller_path(args["dest"])
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
