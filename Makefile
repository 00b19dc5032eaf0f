# infn.cloud - the two commands that matter are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
COLLECTION_LINK := build/collections/ansible_collections/infn/cloud
# The demo's inventory, where its service's state goes, and the prefix of its containers and
# networks; the demo's test (tests/integration/test_demo.py) runs a renamed copy with its own.
DEMO_INVENTORY ?= $(CURDIR)/inventories/local
DEMO_DEPLOYMENTS ?= $(CURDIR)/build/deployments
DEMO_PREFIX ?= infn-demo-
SCENARIOS := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

export PATH := $(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/tests/testbed/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

.PHONY: help venv collection testbed lint sanity unit molecule molecule-scenarios molecule-chain-1 molecule-chain-2 integration integration-demo integration-sites test-openstack checks test demo demo-clean clean build bench openstack-image openstack-site openstack-site-down

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed ## Python virtualenv with the pinned tools (.venv)

collection: ## Make this checkout resolvable as infn.cloud (build/collections)
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn ../../../.. $(COLLECTION_LINK)

testbed: venv ## Install podman & co (bindep.txt) and build the base image
	bash tests/testbed/setup.sh test

lint: testbed collection ## ruff, shellcheck, yamllint, ansible-lint (production profile)
	ruff check .
	shellcheck -x -P SCRIPTDIR tests/testbed/*.sh tests/testbed/openstack/*.sh tests/run-pytest.sh .ci/run
	ruff format --check .
	yamllint --strict .
	ansible-lint --strict

sanity: testbed ## ansible-test sanity on a copy laid out as ansible_collections/infn/cloud
	bash tests/testbed/ansible-test-sanity.sh

unit: venv collection ## pytest unit tests
	bash tests/run-pytest.sh tests/unit

molecule: testbed collection ## every Molecule scenario, one after the other
	@$(MAKE) --no-print-directory molecule-scenarios MOLECULE_SCENARIOS="$(SCENARIOS)"

# `make test` runs the scenarios in two chains of about equal length (swift, the longest, apart).
MOLECULE_CHAIN_1 := swift default
MOLECULE_CHAIN_2 := $(filter-out $(MOLECULE_CHAIN_1),$(SCENARIOS))

molecule-scenarios: testbed collection
	@for scenario in $(MOLECULE_SCENARIOS); do \
	  echo "== molecule test -s $$scenario"; \
	  molecule test -s $$scenario || exit 1; \
	done

molecule-chain-1:
	@$(MAKE) --no-print-directory molecule-scenarios MOLECULE_SCENARIOS="$(MOLECULE_CHAIN_1)"

molecule-chain-2:
	@$(MAKE) --no-print-directory molecule-scenarios MOLECULE_SCENARIOS="$(MOLECULE_CHAIN_2)"

integration: testbed collection ## end-to-end tests (make demo twice, then demo-clean; the sites and the PaaS)
	bash tests/run-pytest.sh tests/integration

integration-demo: testbed collection
	bash tests/run-pytest.sh tests/integration/test_demo.py

# The sites' tests, the OpenStack test site's among them (`make test` starts the site first;
# a site that does not start fails its tests).
integration-sites: testbed collection
	bash tests/run-pytest.sh tests/integration --ignore=tests/integration/test_demo.py

test-openstack: testbed collection ## the tests against the real OpenStack test site (starts it)
	bash tests/run-pytest.sh tests/integration/test_openstack_site.py \
	  tests/integration/test_openstack_provider.py tests/integration/test_paas_openstack.py

# One after the other, in one job slot beside the long jobs.
checks:
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory sanity
	@$(MAKE) --no-print-directory unit

# The demo (the longest), the Molecule scenarios (in two chains), the other integration tests
# and the checks run side by side: their hosts, networks and subnets are disjoint by design
# (docs/testbed.md), and much of their time is spent waiting on downloads, services, booting
# hosts and the tests' own waits. The venv, the base image and the OpenStack test site are
# made first, alone: the site's build (installing and seeding a whole cloud) takes about 6
# minutes alone but over an hour beside the rest on 2 CPUs, and its start (about a minute
# alone) once ran out of its 20 minutes beside them at a load of 50; once up, it serves its
# tests beside the other jobs. Every test that skips is listed at the end, and one that
# tests/skips-allowed.txt does not allow fails the run.
SKIP_LOG := $(CURDIR)/build/test-skips.jsonl
test: testbed collection openstack-site ## everything CI runs
	@mkdir -p build && rm -f $(SKIP_LOG)
	@status=0; INFN_SKIP_LOG=$(SKIP_LOG) $(MAKE) --no-print-directory -j5 --output-sync=line integration-demo \
	  molecule-chain-1 molecule-chain-2 integration-sites checks || status=$$?; \
	  python3 tests/check_skips.py $(SKIP_LOG) || { [ "$$status" != 0 ] || status=1; }; \
	  exit "$$status"

demo: venv collection ## bring up the local podman federation and converge the backbone
	bash tests/testbed/setup.sh demo
	ansible-playbook -i $(DEMO_INVENTORY) playbooks/local_federation.yml \
	  -e local_federation_description=$(DEMO_INVENTORY)/local.federation.yml
	ansible-playbook -i $(DEMO_INVENTORY) playbooks/backbone.yml
	ansible-playbook -i $(DEMO_INVENTORY) playbooks/deploy_service.yml -e deployment_name=web -e deployment_project=demo \
	  -e tosca_template=$(CURDIR)/playbooks/services/web_db/web_db.yaml -e deployment_state_dir=$(DEMO_DEPLOYMENTS) \
	  -e deployment_federation=$(DEMO_INVENTORY)/local.federation.yml
	@echo; echo "== inventory ($(DEMO_INVENTORY))"; ansible-inventory -i $(DEMO_INVENTORY) --graph
	@echo; echo "== hosts"; podman ps --filter name='^$(DEMO_PREFIX)' --format '{{.Names}}' | sort | while read -r name; do \
	  podman inspect --format '{{.Name}}  {{.Config.Hostname}}  {{range $$net, $$cfg := .NetworkSettings.Networks}}{{$$net}} {{$$cfg.IPAddress}}{{end}}' "$$name"; done
	@echo; echo "== service 'web' (playbooks/services/web_db, state in $(DEMO_DEPLOYMENTS)/web.json)"
	@python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["status"], "on", d["site"]); [print(f"{k}: {v}") for k, v in d["outputs"].items()]' $(DEMO_DEPLOYMENTS)/web.json

openstack-image: testbed ## build the OpenStack test site's image (when its recipe changed)
	bash tests/testbed/openstack/site.sh image

openstack-site: testbed ## start the real OpenStack test site (writes build/openstack/clouds.yaml)
	bash tests/testbed/openstack/site.sh up

openstack-site-down: ## remove the OpenStack test site's container and network (the image stays)
	bash tests/testbed/openstack/site.sh down

demo-clean: ## remove the demo's containers, volumes and networks (and its service's state)
	bash tests/testbed/cleanup.sh $(DEMO_PREFIX)
	rm -rf $(DEMO_DEPLOYMENTS)

bench: venv collection ## benchmarks (ratios against a baseline measured in the same run)
	python bench/inventory/run.py
	python bench/tosca_compile/run.py
	bash tests/testbed/setup.sh test
	python bench/dns_bulk/run.py
	python bench/deploy_overhead/run.py
	python bench/podman_connection/run.py

build: venv ## build the collection tarball (infn-cloud-<version>.tar.gz)
	ansible-galaxy collection build --force .

clean: demo-clean ## remove everything the project made, images and build folders included
	bash tests/testbed/cleanup.sh --images
	bash tests/testbed/route.sh remove
	rm -rf build .ansible infn-cloud-*.tar.gz
