# llm-platform — every command the README names. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= single-4090d
STACKS := $(patsubst stacks/Pulumi.%.yaml,%,$(wildcard stacks/Pulumi.*.yaml))

.PHONY: help setup engines netpol tools test lint pytest review plan plan-all schema docs preview up dev-up dev-down failover loadtest

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed  ## create .venv and install the project with its pinned dependencies

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# vLLM 0.33 on CPU judges the capacity planner (tests/engines/). Its own venv: vLLM pins a
# CUDA torch and protobuf ranges the Pulumi SDK does not share. ~3.2 GB on disk, ~600 MB
# downloaded (vLLM's wheel is 336 MB; torch is the CPU build), 1-3 minutes.
ENGINES := .venv-engines
engines: $(ENGINES)/.installed  ## vLLM 0.33 (CPU) for the engine conformance tests

$(ENGINES)/.installed: tests/engines/vllm-requirements.txt
	$(PYTHON) -m venv $(ENGINES)
	$(ENGINES)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0+cpu
	$(ENGINES)/bin/pip install --quiet --disable-pip-version-check --no-deps vllm==0.33.0
	$(ENGINES)/bin/pip install --quiet --disable-pip-version-check -r tests/engines/vllm-requirements.txt
	touch $@

# IBM's network-config-analyzer (tests/assembly/connectivity.py): its own venv, as it pins
# PyYAML and networkx versions the project's venv does not share. ~60 MB, seconds.
NETPOL := .venv-netpol
netpol: $(NETPOL)/.installed  ## network-config-analyzer for the connectivity tests

$(NETPOL)/.installed: tests/engines/netpol-requirements.txt
	$(PYTHON) -m venv $(NETPOL)
	$(NETPOL)/bin/pip install --quiet --disable-pip-version-check -r tests/engines/netpol-requirements.txt
	touch $@

# promtool and amtool, the Prometheus and Alertmanager releases the alert tests pin: Debian
# bookworm's packages, unpacked into .tools (no root needed once the package lists exist).
TOOLS := .tools
PROMETHEUS_DEB := prometheus=2.42.0+ds-5+deb12u1
ALERTMANAGER_DEB := prometheus-alertmanager=0.25.0-1+b4
tools: $(TOOLS)/.installed  ## promtool and amtool for the alert tests

$(TOOLS)/.installed: Makefile
	rm -rf $(TOOLS) && mkdir -p $(TOOLS)/debs
	cd $(TOOLS)/debs && { apt-get download $(PROMETHEUS_DEB) $(ALERTMANAGER_DEB) 2>/dev/null \
	  || { apt-get update -qq && apt-get download $(PROMETHEUS_DEB) $(ALERTMANAGER_DEB); }; }
	for deb in $(TOOLS)/debs/*.deb; do dpkg-deb -x $$deb $(TOOLS)/root; done
	touch $@

test: lint pytest review  ## everything CI runs: ruff, mypy, the test suite, the policy review

lint: setup  ## ruff and mypy
	$(BIN)/ruff check infra loadtest model_loader policies tests
	$(BIN)/ruff format --check infra loadtest model_loader policies tests
	$(BIN)/mypy infra loadtest model_loader policies tests

pytest: setup engines netpol tools  ## the test suite only
	$(BIN)/pytest

review: setup  ## the policy pack on every stack, offline (exit 1 on a mandatory violation)
	$(BIN)/python -m policies.review --all

plan: setup  ## offline plan of one stack: make plan STACK=dev (writes out/STACK)
	$(BIN)/python -m infra.plan --stack $(STACK)

plan-all: setup  ## offline plan of every stack
	@for s in $(STACKS); do $(BIN)/python -m infra.plan --stack $$s || exit $$?; done

schema: setup  ## regenerate stacks/stack.schema.json from the config model
	$(BIN)/python -m infra.config > stacks/stack.schema.json

docs: setup  ## regenerate docs/ from their sources (the network flows table)
	$(BIN)/python -m tests.assembly.flows > docs/network-flows.md

preview: setup  ## pulumi preview -s STACK (needs the Pulumi CLI and the cluster)
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	pulumi preview -s $(STACK)

up: setup  ## pulumi up -s STACK (needs the Pulumi CLI and the cluster)
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	pulumi up -s $(STACK)

dev-up: setup  ## the dev stack on a local kind cluster (needs kind, Docker, Pulumi CLI, kubectl)
	bash scripts/dev.sh up

dev-down:  ## remove the dev stack and its kind cluster
	bash scripts/dev.sh down

OTHER = $(if $(filter primary,$(TO)),secondary,primary)
# The pair: PAIR=dr (GKE regions dr-primary/dr-secondary) or PAIR=site (on-prem site-a/site-b).
PAIR ?= dr
PAIR_STACKS = $(if $(filter site,$(PAIR)),site-a site-b,dr-primary dr-secondary)
SIDE_primary = $(word 1,$(PAIR_STACKS))
SIDE_secondary = $(word 2,$(PAIR_STACKS))

failover: setup  ## move traffic to TO=secondary|primary (PAIR=dr|site; see the README runbooks)
	@case "$(TO)" in primary|secondary) ;; *) echo "usage: make failover TO=secondary|primary [PAIR=dr|site]"; exit 2;; esac
	@case "$(PAIR)" in dr|site) ;; *) echo "usage: PAIR=dr (GKE regions) or PAIR=site (on-prem sites)"; exit 2;; esac
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	$(BIN)/python -m infra.failover_switch --to $(TO) --pair $(PAIR)
	$(foreach s,$(PAIR_STACKS),$(BIN)/python -m infra.plan --stack $(s) --out out/$(s) > /dev/null;)
	pulumi up --stack $(SIDE_$(TO)) --yes
	pulumi up --stack $(SIDE_$(OTHER)) --yes || echo "$(SIDE_$(OTHER)) did not update (site or region down?): run 'pulumi up --stack $(SIDE_$(OTHER))' once it is reachable"

loadtest: setup  ## run the stack's load test (loadTest.enabled, after pulumi up): make loadtest STACK=…
	$(BIN)/python -m infra.loadtest_start --stack $(STACK)
