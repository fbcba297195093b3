#!/usr/bin/env bash
# Delete the kind cluster that `make demo` created, and the loopback registry
# container of hack/local-registry.sh. Idempotent: no cluster (or no
# Docker daemon, so no kind cluster can exist) is not an error.
#
# Usage: hack/kind-down.sh [CLUSTER]
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly CLUSTER="${1:-${KIND_CLUSTER:-tf-serving}}"
export PATH="${REPO_ROOT}/bin:${PATH}"

log() { echo "[down] $*" >&2; }

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
# The loopback registry the release test pushes to (hack/local-registry.sh), if any.
if timeout 10 docker info >/dev/null 2>&1; then
  "${REPO_ROOT}/hack/local-registry.sh" down
fi
