#!/usr/bin/env bash
# Install the Debian packages hack/workarounds/no-registry/build-kind-node.sh builds with (only the
# missing ones).
#
# Usage: hack/workarounds/no-registry/install-host-packages.sh   (root; Debian 12)
#
# debootstrap (the node's rootfs), gcc + libc6-dev (our static pause binary).
set -o errexit -o nounset -o pipefail
LOG_TAG="cluster-packages"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

PACKAGES=(debootstrap gcc libc6-dev)


main() {
  ((EUID == 0)) || {
    log "ERROR: run as root"
    exit 1
  }
  local -a missing=()
  local package
  for package in "${PACKAGES[@]}"; do
    grep -q 'install ok installed' < <(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null) ||
      missing+=("${package}")
  done
  if ((${#missing[@]} == 0)); then
    log "all host packages present"
    return
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

main "$@"
