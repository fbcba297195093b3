#!/usr/bin/env bash
# Delete the kind cluster that `make demo` created, and the loopback registry
# container of hack/make-rules/local-registry.sh. Idempotent: no cluster (or no
# Docker daemon, so no kind cluster can exist) is not an error.
#
# Usage: hack/make-rules/kind-down.sh [CLUSTER]
set -o errexit -o nounset -o pipefail
LOG_TAG="down"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly CLUSTER="${1:-${KIND_CLUSTER:-tf-serving}}"
export PATH="${REPO_ROOT}/bin:${PATH}"


delete_cluster() {
  command -v kind >/dev/null 2>&1 || { log "kind not found: run 'make tools'"; return 1; }
  if ! timeout 10 docker info >/dev/null 2>&1; then
    log "no Docker daemon answers, so no kind cluster '${CLUSTER}' runs: nothing to delete"
    return
  fi
  if ! grep -qx "${CLUSTER}" < <(kind get clusters 2>/dev/null); then
    log "no kind cluster named '${CLUSTER}': nothing to delete"
    return
  fi
  log "deleting kind cluster '${CLUSTER}'"
  kind delete cluster --name "${CLUSTER}"
}

delete_cluster "$@"
# The loopback registry the release test pushes to (hack/make-rules/local-registry.sh), if any.
if timeout 10 docker info >/dev/null 2>&1; then
  "${REPO_ROOT}/hack/make-rules/local-registry.sh" down
fi
