#!/usr/bin/env bash
# Load locally built images into the offline cluster's containerd (no registry).
#
# Usage: hack/cluster/load-image.sh TAR_OR_IMAGE...
#
# Each argument is either an image archive (`docker save` or OCI layout tar,
# e.g. from hack/build-standin-image.sh --save PATH) or the name of an image in
# the local dockerd, which is streamed through `docker save`. Images land in
# containerd's k8s.io namespace, so pods use them with imagePullPolicy
# IfNotPresent (or Never); names are normalised the way the kubelet does
# (tfserving-standin:x is docker.io/library/tfserving-standin:x).
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

load_one() {
  local source="$1"
  if [[ -f "${source}" ]]; then
    log "importing ${source}"
    ctr_k8s images import --no-unpack=false "${source}" >&2
  elif command -v docker >/dev/null && docker image inspect "${source}" >/dev/null 2>&1; then
    log "importing ${source} from dockerd"
    docker save "${source}" | ctr_k8s images import --no-unpack=false - >&2
  else
    die "${source} is neither an image archive nor an image in dockerd; build it first (e.g. hack/build-standin-image.sh --save PATH)"
  fi
}

main() {
  (($# > 0)) || die "usage: hack/cluster/load-image.sh TAR_OR_IMAGE..."
  ((EUID == 0)) || die "run as root (containerd's socket is root-only)"
  ctr --address "${CONTAINERD_SOCKET}" version >/dev/null 2>&1 ||
    die "the cluster's containerd is not running; start the cluster with hack/cluster-up.sh"
  local source
  for source in "$@"; do
    load_one "${source}"
  done
  ctr_k8s images ls -q | grep -v '^sha256:' >&2
}

main "$@"
