#!/usr/bin/env bash
# Load local images into a kind cluster's node, as `kind load docker-image` does,
# through hack/workarounds/no-cap-sys-resource/docker only where a probe shows privileged containers
# cannot start here (see hack/lib/kind.sh).
#
# Usage: hack/make-rules/kind-load.sh [--name CLUSTER] IMAGE...   (default cluster: tf-serving)
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=hack/lib/kind.sh
source "${REPO_ROOT}/hack/lib/kind.sh"

CLUSTER="${KIND_CLUSTER:-tf-serving}"
if [[ "${1:-}" == --name ]]; then
  CLUSTER="${2:?--name needs a cluster name}"
  shift 2
fi
(($# > 0)) || { echo "usage: $0 [--name CLUSTER] IMAGE..." >&2; exit 2; }
PATH="${REPO_ROOT}/bin:${PATH}"
KIND_SHIM_QUIET=1 use_docker_shim_if_needed "$1"
exec kind load docker-image --name "${CLUSTER}" "$@"
