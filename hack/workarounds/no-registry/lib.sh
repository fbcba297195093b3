#!/usr/bin/env bash
# Shared settings and helpers for the offline cluster build scripts and hack/make-rules/kind-up.sh
# (sourced, not run).
#
# Usage: source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   (it sources hack/lib/common.sh)

# shellcheck disable=SC2034  # settings are used by the scripts that source this file
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

K8S_CACHE_DIR="${K8S_CACHE_DIR:-${HOME}/.cache/tf-serving-k8s}"
K8S_BIN_DIR="${K8S_CACHE_DIR}/k8s-${KUBERNETES_VERSION}/bin"
# The offline kind node image (hack/workarounds/no-registry/build-kind-node.sh builds it, hack/make-rules/kind-up.sh
# runs it). Bump the -rN suffix when the node recipe changes: an older image is rebuilt.
OFFLINE_KIND_NODE_IMAGE="tfserving.local/kind-node:${KUBERNETES_VERSION}-r3"

