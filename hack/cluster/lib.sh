#!/usr/bin/env bash
# Shared settings and helpers for the offline cluster build scripts and hack/kind-up.sh
# (sourced, not run).
#
# Usage: source "${REPO_ROOT}/hack/cluster/lib.sh"

# shellcheck disable=SC2034  # settings are used by the scripts that source this file
# shellcheck source=hack/versions.env
source "${REPO_ROOT}/hack/versions.env"

K8S_CACHE_DIR="${K8S_CACHE_DIR:-${HOME}/.cache/tf-serving-k8s}"
K8S_BIN_DIR="${K8S_CACHE_DIR}/k8s-${KUBERNETES_VERSION}/bin"
# The offline kind node image (hack/cluster/build-kind-node.sh builds it, hack/kind-up.sh
# runs it). Bump the -rN suffix when the node recipe changes: an older image is rebuilt.
OFFLINE_KIND_NODE_IMAGE="tfserving.local/kind-node:${KUBERNETES_VERSION}-r2"

log() { printf '[cluster %s] %s\n' "$(date -u +%T)" "$*" >&2; }

die() {
  log "ERROR: $*"
  exit 1
}
