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
from ansible.utils.display import Display

from ansible_collections.infn.cloud.plugins.module_utils.deployment import state as states
from ansible_collections.infn.cloud.plugins.module_utils.deployment.orchestrator import (
    DeploymentError,
    Orchestrator,
    Request,
)
from ansible_collections.infn.cloud.plugins.module_utils.deployment.runner import HAS_ANSIBLE_RUNNER
from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    DescriptionError,
    did_you_mean,
    failure,
    option_problem,
)
from ansible_collections.infn.cloud.plugins.module_utils.federation import load_federation
from ansible_collections.infn.cloud.plugins.modules.tosca_deploy import ARGUMENT_SPEC, REQUIRED_IF
from ansible_collections.infn.cloud.plugins.plugin_utils.tosca_action import TaskFailure, TemplateAction, plain

display = Display()


def collections_path() -> str:
    """This controller's collections path, with the folder this collection was loaded from first."""
    here = os.path.dirname(os.path.abspath(__file__))
    own = here
    while os.path.basename(own) != "ansible_collections" and os.path.dirname(own) != own:
        own = os.path.dirname(own)
    paths = [os.path.dirname(own)] if os.path.basename(own) == "ansible_collections" else []
    return os.pathsep.join(dict.fromkeys([*paths, *constants.COLLECTIONS_PATHS]))


def deploy_option_problems(args: dict) -> list:
    """The problems with the options tosca_deploy adds to those of every template action."""
    problems = []
    if not states.NAME.fullmatch(args["name"]):
        problems.append(option_problem("name", f"expected {states.NAME_HELP}, got {args['name']!r}"))
    if args["state"] == "present" and not args["project"]:
        problems.append(option_problem("project", "required to deploy (the sites' SLAs admit projects), got none"))
    for key in ("max_attempts", "site_timeout"):
        if args[key] < 1:
            problems.append(option_problem(key, f"expected a number of at least 1, got {args[key]}"))
    if not HAS_ANSIBLE_RUNNER:
        problems.append(
            option_problem(
                "", "ansible-runner is not installed on the controller (it is in the collection's requirements.txt)"
            )
        )
    return problems


class ActionModule(TemplateAction):
    def _secrets_dir(self, task_vars: dict, federation_path: str) -> str:
        """The collection's one secrets folder: infn_cloud_secrets_dir, else beside the federation
        description (the inventory), as the roles' default <inventory folder>.secrets."""
        given = task_vars.get("infn_cloud_secrets_dir")
        if given:
            return os.path.abspath(self.controller_path(str(self._templar.template(given))))
        return os.path.dirname(os.path.abspath(federation_path)) + ".secrets"

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            args = self.checked_options(ARGUMENT_SPEC, REQUIRED_IF, deploy_option_problems)
            federation_path = self.controller_path(args["federation"])
            federation = self._federation(federation_path, args["sites"])
            template = self.find_template(args["template"]) if args["template"] else ""
        except TaskFailure as stop:
            return {**result, "failed": True, **stop.result}
        store = states.DeploymentStore(
            self.controller_path(args["state_dir"]) if args["state_dir"] else states.default_folder()
        )
        result["state_file"] = store.path(args["name"])
        orchestrator = Orchestrator(federation, store, progress=display.display)
        request = Request(
            name=args["name"],
            template=template,
            project=args["project"] or "",
            inputs=args["inputs"],
            sites=tuple(args["sites"]),
            max_attempts=args["max_attempts"],
            site_timeout=args["site_timeout"],
            role_registry=args["role_registry"],
            import_map=self.import_map(args),
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
            return {**result, "failed": True, **failure(error.problems, template)}
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

    def _federation(self, path: str, wanted_sites: list):
        """The federation description, with every site the task names in it; TaskFailure if not."""
        try:
            federation, _options = load_federation(path)
        except DescriptionError as error:
            raise TaskFailure(failure(error.problems, f"the federation description {path}")) from None
        except OSError as error:
            raise TaskFailure({"msg": f"cannot read the federation description {path}: {error}"}) from None
        known = [site.name for site in federation.sites]
        unknown = [
            option_problem(f"sites[{index}]", f"no site named {name!r} in {path}{did_you_mean(name, known)}")
            for index, name in enumerate(wanted_sites)
            if name not in known
        ]
        if unknown:
            raise TaskFailure(failure(unknown, "the options"))
        return federation


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
