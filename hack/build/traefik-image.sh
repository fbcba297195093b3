#!/usr/bin/env bash
# Build local/traefik:<TRAEFIK_VERSION> (images/traefik/, FROM scratch) with no registry pull:
# the e2e cluster's ingress controller (tests/e2e/manifests/traefik.yaml).
#
# Traefik's go.mod has replace directives, which `go install module@version` refuses, so the
# binary is built inside the module the Go module proxy serves (`go mod download`), as the
# Kubernetes build does. bin/traefik is stamped with its version; a warm run returns at once.
#
# Usage: hack/build/traefik-image.sh
set -o errexit -o nounset -o pipefail
LOG_TAG="traefik"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=hack/lib/images.sh
source "${REPO_ROOT}/hack/lib/images.sh"

readonly MODULE=github.com/traefik/traefik/v3
readonly IMAGE="local/traefik:${TRAEFIK_VERSION#v}"
readonly BINARY="${REPO_ROOT}/bin/traefik"
readonly STAMP="${REPO_ROOT}/bin/.traefik-${TRAEFIK_VERSION}"

build_binary() {
  if [[ -x "${BINARY}" && -f "${STAMP}" ]]; then
    return
  fi
  command -v go >/dev/null 2>&1 || die "building Traefik needs Go (${MODULE}@${TRAEFIK_VERSION})"
  local dir start="${SECONDS}"
  log "go mod download ${MODULE}@${TRAEFIK_VERSION}"
  dir="$(go mod download -json "${MODULE}@${TRAEFIK_VERSION}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  log "go build ./cmd/traefik in ${dir}"
  mkdir -p "${REPO_ROOT}/bin"
  (cd "${dir}" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION}" \
    -o "${BINARY}" ./cmd/traefik)
  touch "${STAMP}"
  log "built in $((SECONDS - start)) s"
}

build_image() {
  if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
    return
  fi
  local context
  context="$(mktemp -d)"
  cp "${REPO_ROOT}/images/traefik/Dockerfile" "${BINARY}" "${context}/"
  log "building ${IMAGE} (FROM scratch, bin/traefik)"
  build_local_image "${IMAGE}" "${context}" --build-arg "APP_TAG=${TRAEFIK_VERSION}"
  rm -rf "${context}"
}

main() {
  build_binary
  build_image
}

main "$@"
