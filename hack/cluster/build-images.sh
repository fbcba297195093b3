#!/usr/bin/env bash
# Build the cluster's helper images locally as OCI archives (no pulls).
#
# Usage: hack/cluster/build-images.sh
#
# pause:   our own static pause binary (images/pause/pause.c), the sandbox image.
# busybox: Debian's busybox-static, a small shell/httpd/nslookup for tests.
# Archives land in ${K8S_CACHE_DIR}/images and are reused when present.
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

BUSYBOX_APPLETS=(sh cat echo env hostname httpd ls nc nslookup sleep wget)

build_pause() {
  local tar="${IMAGE_CACHE_DIR}/pause.tar" work
  if [[ -f "${tar}" && "${tar}" -nt "${REPO_ROOT}/images/pause/pause.c" ]]; then
    return
  fi
  command -v gcc >/dev/null || die "gcc is missing; install it with: apt-get install -y gcc libc6-dev"
  work="$(mktemp -d)"
  log "compiling images/pause/pause.c (static)"
  gcc -Os -static -Wall -Wextra -Werror -o "${work}/pause" "${REPO_ROOT}/images/pause/pause.c"
  strip "${work}/pause"
  python3 "${REPO_ROOT}/hack/cluster/oci_archive.py" --name "${CLUSTER_PAUSE_IMAGE}" \
    --add "${work}/pause:/pause" --entrypoint /pause --output "${tar}" >/dev/null
  rm -rf "${work}"
}

build_busybox() {
  local tar="${IMAGE_CACHE_DIR}/busybox.tar" applet
  [[ -f "${tar}" ]] && return
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing; install it with: apt-get install -y busybox-static"
  grep -q 'static' < <(file -b /bin/busybox 2>/dev/null) || log "warning: /bin/busybox may not be static"
  local -a links=()
  for applet in "${BUSYBOX_APPLETS[@]}"; do
    links+=(--symlink "/bin/${applet}:busybox")
  done
  python3 "${REPO_ROOT}/hack/cluster/oci_archive.py" --name "${CLUSTER_BUSYBOX_IMAGE}" \
    --add /bin/busybox:/bin/busybox "${links[@]}" --entrypoint /bin/sh --output "${tar}" >/dev/null
}

main() {
  mkdir -p "${IMAGE_CACHE_DIR}"
  build_pause
  build_busybox
  log "images in ${IMAGE_CACHE_DIR}: $(cd "${IMAGE_CACHE_DIR}" && echo *.tar)"
}

main "$@"
