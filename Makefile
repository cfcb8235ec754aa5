# llm-platform — every command the README names. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= single-4090d
STACKS := $(patsubst stacks/Pulumi.%.yaml,%,$(wildcard stacks/Pulumi.*.yaml))
# FILE=examples/Pulumi.NAME.yaml: plan or review that file as stack NAME, without copying it.
FILE   ?=
FILE_STACK = $(patsubst Pulumi.%.yaml,%,$(notdir $(FILE)))
TARGET_ARGS = $(if $(FILE),--stack $(FILE_STACK) --config-file $(FILE),--stack $(STACK))

.PHONY: help setup engines netpol tools test lint pytest review plan plan-all doctor schema docs preview up destroy dev-up dev-down failover loadtest

help:  ## list the targets (STACK defaults to single-4090d)
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed  ## create .venv and install the project with its pinned dependencies

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# vLLM 0.33 on CPU judges the capacity planner (tests/engines/). Its own venv: vLLM pins a
# CUDA torch and protobuf ranges the Pulumi SDK does not share. torch is the release vLLM's
# code runs on, by its public version: from PyTorch's CPU index where it can be reached
# (TORCH_INDEX_URL; ~200 MB), else from PyPI (on Linux x86_64 the CUDA build, ~3.5 GB with
# its NVIDIA libraries; macOS and arm64 get CPU builds). vLLM's wheel is 336 MB; 1-3 minutes.
ENGINES := .venv-engines
TORCH_VERSION := 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
PIP_QUIET := --quiet --disable-pip-version-check
engines: $(ENGINES)/.installed  ## vLLM 0.33 (CPU) for the engine conformance tests

$(ENGINES)/.installed: tests/engines/vllm-requirements.txt
	$(PYTHON) -m venv $(ENGINES)
	$(ENGINES)/bin/pip install $(PIP_QUIET) --no-deps --retries 0 --timeout 20 \
	  --index-url $(TORCH_INDEX_URL) torch==$(TORCH_VERSION) \
	  || $(ENGINES)/bin/pip install $(PIP_QUIET) --no-deps torch==$(TORCH_VERSION)
	$(ENGINES)/bin/pip install $(PIP_QUIET) torch==$(TORCH_VERSION)  # its own dependencies
	$(ENGINES)/bin/pip install $(PIP_QUIET) --no-deps vllm==0.33.0
	$(ENGINES)/bin/pip install $(PIP_QUIET) -r tests/engines/vllm-requirements.txt
	touch $@

# IBM's network-config-analyzer (tests/assembly/connectivity.py): its own venv, as it pins
# PyYAML and networkx versions the project's venv does not share. ~60 MB, seconds.
NETPOL := .venv-netpol
netpol: $(NETPOL)/.installed  ## network-config-analyzer for the connectivity tests

$(NETPOL)/.installed: tests/engines/netpol-requirements.txt
	$(PYTHON) -m venv $(NETPOL)
	$(NETPOL)/bin/pip install --quiet --disable-pip-version-check -r tests/engines/netpol-requirements.txt
	touch $@

# promtool, amtool and Alertmanager for the alert tests (Prometheus 2.42+, Alertmanager
# 0.25+): $$PROMTOOL/$$AMTOOL/$$ALERTMANAGER, else your PATH, else Debian's or Ubuntu's
# packages unpacked into .tools (~30 MB, no root). scripts/tools.sh says what is missing.
TOOLS := .tools
tools: $(TOOLS)/.installed  ## promtool, amtool and Alertmanager for the alert tests

$(TOOLS)/.installed: scripts/tools.sh
	bash scripts/tools.sh
	touch $@

test: lint pytest review  ## everything CI runs: ruff, mypy, the test suite, the policy review

lint: setup  ## ruff and mypy
	$(BIN)/ruff check infra loadtest model_loader policies tests
	$(BIN)/ruff format --check infra loadtest model_loader policies tests
	$(BIN)/mypy infra loadtest model_loader policies tests

# One test process per core (pytest-xdist): on 2 cores about 7 minutes instead of 11.
pytest: setup engines netpol tools  ## the test suite only (one process per core)
	$(BIN)/pytest -n auto

review: setup  ## the policy pack offline, every stack (STACK=dev or FILE=examples/…: one)
	$(BIN)/python -m policies.review $(if $(or $(FILE),$(filter command line,$(origin STACK))),$(TARGET_ARGS),--all)

plan: setup  ## plan and review one stack offline: make plan STACK=dev, or FILE=examples/Pulumi.long-context-128k.yaml
	$(BIN)/python -m infra.plan $(TARGET_ARGS)

plan-all: setup  ## plan every stack (without the review: make review does it)
	@for s in $(STACKS); do $(BIN)/python -m infra.plan --no-review --stack $$s || exit $$?; done

doctor: setup  ## check what STACK (or FILE=…) needs of its cluster before pulumi up (kubectl get only)
	$(BIN)/python -m infra.doctor $(TARGET_ARGS)

schema: setup  ## regenerate stacks/stack.schema.json from the config model
	$(BIN)/python -m infra.config > stacks/stack.schema.json

docs: setup  ## regenerate docs/ from their sources (configuration reference, network flows)
	$(BIN)/python -m infra.config reference > docs/configuration.md
	$(BIN)/python -m tests.assembly.flows > docs/network-flows.md

preview: setup  ## pulumi preview -s STACK (needs the Pulumi CLI and the cluster)
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	pulumi preview -s $(STACK)

up: setup  ## pulumi up -s STACK (needs the Pulumi CLI and the cluster)
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	pulumi up -s $(STACK)

destroy: setup  ## pulumi destroy -s STACK: remove what the stack created (asks first)
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	pulumi destroy -s $(STACK)

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

failover: setup  ## move traffic to TO=secondary|primary (PAIR=dr|site; runbooks: docs/disaster-recovery.md)
	@case "$(TO)" in primary|secondary) ;; *) echo "usage: make failover TO=secondary|primary [PAIR=dr|site]"; exit 2;; esac
	@case "$(PAIR)" in dr|site) ;; *) echo "usage: PAIR=dr (GKE regions) or PAIR=site (on-prem sites)"; exit 2;; esac
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/"; exit 127; }
	$(BIN)/python -m infra.failover_switch --to $(TO) --pair $(PAIR)
	$(foreach s,$(PAIR_STACKS),$(BIN)/python -m infra.plan --no-review --stack $(s) --out out/$(s) > /dev/null;)
	pulumi up --stack $(SIDE_$(TO)) --yes
	pulumi up --stack $(SIDE_$(OTHER)) --yes || echo "$(SIDE_$(OTHER)) did not update (site or region down?): run 'pulumi up --stack $(SIDE_$(OTHER))' once it is reachable"

loadtest: setup  ## run the stack's load test (loadTest.enabled, after pulumi up): make loadtest STACK=…
	$(BIN)/python -m infra.loadtest_start --stack $(STACK)
