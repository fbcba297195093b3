## Reference: https://book.kubebuilder.io/reference/makefile-helpers (self-documenting help)
include hack/versions.env

SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
MODELS_DIR ?= models
MODEL_NAME ?= fashion_mnist
# `make export` checks a version swap against the demo release's memory limit
# (charts/tf-serving/ci/04-kind-hostpath-values.yaml resources.limits.memory).
EXPORT_MEMORY_LIMIT ?= 1Gi
KIND_CLUSTER ?= tf-serving
RELEASE ?= tf-serving
# make demo's model server: auto (real when a registry answers, else the stand-in), real, standin.
SERVER ?= auto
PYTEST_ARGS ?= -m "not kind"
# git directory of a tensorflow/serving clone, for `make flags`
TF_SERVING_GIT_DIR ?=
E2E_ARGS ?=

##@ General

.PHONY: help
help: ## Show this help (start with: make demo)
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Setup

.PHONY: tools
tools: ## Install pinned helm, kind, kubeconform, actionlint, helm-docs, promtool, checkov and build tfs-load-engine into bin/
	hack/make-rules/install-tools.sh

.PHONY: deps
deps: $(VENV)/.installed ## Create the virtualenv and install Python dependencies

$(VENV)/.installed: pyproject.toml testing/pyproject.toml hack/versions.env
	hack/make-rules/install-python-deps.sh "$(VENV)"

##@ Development

.PHONY: fmt
fmt: deps ## Format Python code with ruff
	ruff format .
	ruff check --fix .

.PHONY: lint
lint: deps ## Lint Python (ruff), shell (shellcheck), Go (gofmt, vet), YAML (yamllint) and the chart README against the chart
	ruff format --check .
	ruff check .
	hack/verify/shell.sh
	hack/verify/go.sh
	yamllint --strict .
	python3 hack/verify/lint_docs.py

.PHONY: test
test: deps tools lint verify ## Run every check: lint, generated-file drift, chart verification, pytest
	hack/make-rules/run-pytest.sh $(PYTEST_ARGS)

.PHONY: docs
docs: tools ## Regenerate charts/tf-serving/README.md (values table) with helm-docs
	hack/update/render-docs.sh

.PHONY: manifests
manifests: tools ## Regenerate the plain manifests in k8s/ from the chart's default render
	hack/update/render-manifests.sh

.PHONY: flags
flags: deps ## Regenerate hack/data/tf_serving_flags.json from TF Serving's source at TF_SERVING_VERSION (TF_SERVING_GIT_DIR=<clone>/.git)
	@[[ -n "$(TF_SERVING_GIT_DIR)" ]] || { echo "set TF_SERVING_GIT_DIR to the git directory of a tensorflow/serving clone" >&2; exit 1; }
	$(VENV)/bin/python hack/update/tf_serving_flags.py --git-dir "$(TF_SERVING_GIT_DIR)" --tag "$(TF_SERVING_VERSION)"

.PHONY: protos
protos: deps ## Regenerate tfserving_contract/tf_serving_apis.binpb (TF Serving API descriptors) from the pinned tensorflow-serving-api
	$(VENV)/bin/python hack/update/tf_serving_protos.py

.PHONY: verify
verify: deps tools ## Fail when generated files are out of date or the chart changed without a version bump
	hack/verify/generated.sh
	hack/make-rules/chart-testing.sh version

.PHONY: bench
bench: deps tools ## Benchmark tfs-load (Go engine) against known latency, wrk and ghz on loopback
	hack/make-rules/bench.sh

##@ Models

.PHONY: export
export: deps ## Train the fashion-MNIST CNN and publish the next version under models/ (memory checked against EXPORT_MEMORY_LIMIT)
	$(VENV)/bin/python -m model_export train --model-base-path "$(MODELS_DIR)/$(MODEL_NAME)" \
		--memory-limit "$(EXPORT_MEMORY_LIMIT)"

.PHONY: inspect
inspect: deps ## Show the signatures of the newest exported version
	$(VENV)/bin/python -m model_export inspect "$(MODELS_DIR)/$(MODEL_NAME)"

##@ Chart

.PHONY: chart-lint
chart-lint: tools deps ## helm lint --strict, render every ci/ scenario, validate with kubeconform and checkov
	hack/verify/chart.sh

.PHONY: chart-test
chart-test: tools deps ## ct's checks in our script: version bump, lint, install every ci/ scenario, upgrade from the previous release under load (root; the e2e kind cluster up: E2E_KEEP_CLUSTER=1 make e2e)
	hack/make-rules/chart-testing.sh all

##@ Cluster

.PHONY: standin-image
standin-image: ## Build the TF Serving stand-in image locally (test use only)
	hack/build/standin-image.sh

.PHONY: app-images
app-images: deps ## Build the gateway, model-fetch and client-tools images locally (on the client Python base)
	hack/build/app-images.sh

.PHONY: demo
demo: deps tools ## THE MAIN COMMAND: kind cluster, export, helm install, smoke test (SERVER=auto|real|standin)
	SERVER="$(SERVER)" hack/make-rules/demo.sh "$(KIND_CLUSTER)" "$(RELEASE)"

.PHONY: e2e
e2e: deps tools ## Offline kind cluster, stand-in image: scenarios, smoke, load, capacity, rollouts, gateway, fetch, canary analysis, readiness (root)
	hack/make-rules/e2e.sh $(E2E_ARGS)

.PHONY: down
down: ## Delete the kind cluster
	hack/make-rules/kind-down.sh "$(KIND_CLUSTER)"
