# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""infn.cloud.tosca_deploy: deploys a TOSCA service on the best federated site, or undeploys it,
on the controller (the documentation and the options are in plugins/modules/tosca_deploy.py).

The work is the orchestrator's (plugins/module_utils/deployment); this plugin checks the
options, finds the files the way Ansible finds a task's files, gives the runs of the compiled
playbook this controller's collections path, shows progress as it happens, and turns every
failure into a task result an operator can read.
"""

from __future__ import annotations

import os

from ansible import constants
from ansible.errors import AnsibleFileNotFound
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.infn.cloud.plugins.action.tosca import option_problems, plain
from ansible_collections.infn.cloud.plugins.module_utils.deployment import state as states
from ansible_collections.infn.cloud.plugins.module_utils.deployment.orchestrator import (
    DeploymentError,
    Orchestrator,
    Request,
)
from ansible_collections.infn.cloud.plugins.module_utils.deployment.runner import HAS_ANSIBLE_RUNNER
from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError, did_you_mean
from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from ansible_collections.infn.cloud.plugins.modules.tosca_deploy import ARGUMENT_SPEC, REQUIRED_IF

display = Display()


def collections_path() -> str:
    """This controller's collections path, with the folder this collection was loaded from first."""
    here = os.path.dirname(os.path.abspath(__file__))
    own = here
    while os.path.basename(own) != "ansible_collections" and os.path.dirname(own) != own:
        own = os.path.dirname(own)
    paths = [os.path.dirname(own)] if os.path.basename(own) == "ansible_collections" else []
    return os.pathsep.join(dict.fromkeys([*paths, *constants.COLLECTIONS_PATHS]))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def _secrets_dir(self, task_vars: dict, federation_path: str) -> str:
        """The collection's one secrets folder: infn_cloud_secrets_dir, else beside the federation
        description (the inventory), as the roles' default <inventory folder>.secrets."""
        given = task_vars.get("infn_cloud_secrets_dir")
        if given:
            return os.path.abspath(self._loader.path_dwim(os.path.expanduser(str(self._templar.template(given)))))
        return os.path.dirname(os.path.abspath(federation_path)) + ".secrets"

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = plain(self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)[1])
        bad = option_problems(args)
        if not states.NAME.fullmatch(args["name"]):
            bad.insert(0, f"name: expected {states.NAME_HELP}, got {args['name']!r}")
        if args["state"] == "present" and not args["project"]:
            bad.append("project: required to deploy (the sites' SLAs admit projects), got none")
        for key in ("max_attempts", "site_timeout"):
            if args[key] < 1:
                bad.append(f"{key}: expected a number of at least 1, got {args[key]}")
        if not HAS_ANSIBLE_RUNNER:
            bad.append("ansible-runner is not installed on the controller (it is in the collection's requirements.txt)")
        if bad:
            message = (
                bad[0]
                if len(bad) == 1
                else f"{len(bad)} problems with the options:\n" + "\n".join(f"- {p}" for p in bad)
            )
            return {**result, "failed": True, "msg": message}
        federation_path = self._loader.path_dwim(args["federation"])
        try:
            federation, _options = load_federation(federation_path)
        except DescriptionError as error:
            return {
                **result,
                "failed": True,
                "msg": f"invalid federation description ({len(error.problems)} problem(s)):\n{error}",
            }
        except OSError as error:
            return {
                **result,
                "failed": True,
                "msg": f"cannot read the federation description {federation_path}: {error}",
            }
        known = [site.name for site in federation.sites]
        unknown = [
            f"sites[{index}]: no site named {name!r} in {federation_path}{did_you_mean(name, known)}"
            for index, name in enumerate(args["sites"])
            if name not in known
        ]
        if unknown:
            return {**result, "failed": True, "msg": "\n".join(unknown)}
        store = states.DeploymentStore(
            self._loader.path_dwim(args["state_dir"]) if args["state_dir"] else states.default_folder()
        )
        result["state_file"] = store.path(args["name"])
        orchestrator = Orchestrator(federation, store, progress=display.display)
        template = ""
        if args["template"]:
            try:
                template = self._find_needle("files", args["template"])
            except AnsibleFileNotFound as error:
                searched = "\n".join(f"  {path}" for path in dict.fromkeys(error.paths or []))
                return {
                    **result,
                    "failed": True,
                    "msg": f"TOSCA template {args['template']} not found; looked for:\n{searched}",
                }
        request = Request(
            name=args["name"],
            template=template,
            project=args["project"] or "",
            inputs=args["inputs"],
            sites=tuple(args["sites"]),
            max_attempts=args["max_attempts"],
            site_timeout=args["site_timeout"],
            role_registry=args["role_registry"],
            import_map={url: self._loader.path_dwim(os.path.expanduser(p)) for url, p in args["import_map"].items()},
            allow_network=args["allow_network"],
            envvars={"ANSIBLE_COLLECTIONS_PATH": collections_path()},
            secrets_dir=self._secrets_dir(task_vars or {}, federation_path),
        )
        check_mode = bool(self._task.check_mode)
        before = store_status(store, args["name"])
        try:
            if args["state"] == "present":
                changed, document = orchestrator.deploy(request, check_mode=check_mode)
            else:
                changed, document = orchestrator.undeploy(args["name"], request, check_mode=check_mode)
        except DeploymentError as error:
            return plain({**result, **_fields(error.document), "failed": True, "msg": str(error)})
        except DescriptionError as error:
            problems = error.problems
            count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
            return {**result, "failed": True, "msg": f"{count} in the template:\n" + "\n".join(map(str, problems))}
        except states.StateError as error:
            return {**result, "failed": True, "msg": str(error)}
        except Exception as error:  # a bug must still read as a failed task naming the deployment
            return {
                **result,
                "failed": True,
                "msg": f"unexpected error in deployment {args['name']!r}: {type(error).__name__}: {error} "
                f"(a bug of infn.cloud's orchestrator; the state is in {store.path(args['name'])})",
            }
        result.update(_fields(document), changed=changed)
        if changed and self._task.diff:
            after = (document or {}).get("status")
            result["diff"] = {"before": f"status: {before}\n", "after": f"status: {after}\n"}
        return plain(result)


def store_status(store, name: str):
    try:
        document = store.read(name)
    except states.StateError:
        return None
    return document and document.get("status")


def _fields(document: dict | None) -> dict:
    if not document:
        return {"status": None, "site": None, "outputs": {}, "attempts": [], "nodes": {}, "deployment": {}}
    return {
        "status": document.get("status"),
        "site": document.get("site"),
        "outputs": document.get("outputs") or {},
        "ranking": document.get("ranking") or [],
        "attempts": document.get("attempts") or [],
        "nodes": document.get("nodes") or {},
        "deployment": document,
    }
