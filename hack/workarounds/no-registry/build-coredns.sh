#!/usr/bin/env bash
# Build CoreDNS from the Go module proxy for the offline cluster's DNS.
#
# Usage: hack/workarounds/no-registry/build-coredns.sh [--force]
#
# Installs github.com/coredns/coredns at COREDNS_VERSION (hack/versions.env)
# into ${K8S_CACHE_DIR}/coredns-<version>/bin; a warm run returns at once.
set -o errexit -o nounset -o pipefail

# shellcheck source=hack/workarounds/no-registry/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local bin_dir="${K8S_CACHE_DIR}/coredns-${COREDNS_VERSION}/bin" start="${SECONDS}"
  if [[ "${1:-}" != "--force" && -x "${bin_dir}/coredns" ]]; then
    log "coredns ${COREDNS_VERSION} already in ${bin_dir}"
  else
    log "building coredns ${COREDNS_VERSION} (cold build takes minutes)"
    mkdir -p "${bin_dir}"
    (cd /tmp && CGO_ENABLED=0 GOBIN="${bin_dir}" GOFLAGS=-trimpath \
      go install -ldflags '-s -w' "github.com/coredns/coredns@${COREDNS_VERSION}")
    log "built coredns in $((SECONDS - start)) s"
  fi
  printf '%s\n' "${bin_dir}/coredns"
}

main "$@"
