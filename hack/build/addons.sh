#!/usr/bin/env bash
# Build the e2e cluster's add-ons with no registry pull: a static binary bin/<addon> built
# from the Go module proxy and, where images/<addon>/ has a Dockerfile, the image
# local/<addon>:<version> (FROM scratch) around it.
#
#   traefik         the ingress controller (tests/e2e/manifests/traefik.yaml)
#   metrics-server  the resource metrics API the HPA reads (tests/e2e/manifests/metrics-server.yaml)
#   kube-router     the NetworkPolicy agent, run on the node by tests/e2e/policy_agent.py
#                   (binary only: it needs the node's iptables and ipset)
#
# Each binary is built inside the module the Go module proxy serves (`go mod download`), as
# the Kubernetes build does: Traefik's go.mod has replace directives, which
# `go install module@version` refuses. bin/<addon> is stamped with its version; a warm run
# returns at once.
#
# Usage: hack/build/addons.sh ADDON...   (traefik, metrics-server, kube-router)
set -o errexit -o nounset -o pipefail
LOG_TAG="addons"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=hack/lib/images.sh
source "${REPO_ROOT}/hack/lib/images.sh"

# addon_spec ADDON: "module version package version-ldflag" of one add-on.
addon_spec() {
  case "$1" in
    traefik)
      echo "github.com/traefik/traefik/v3 ${TRAEFIK_VERSION} ./cmd/traefik" \
        "github.com/traefik/traefik/v3/pkg/version.Version"
      ;;
    metrics-server)
      echo "sigs.k8s.io/metrics-server ${METRICS_SERVER_VERSION} ./cmd/metrics-server" \
        "sigs.k8s.io/metrics-server/pkg/version.gitVersion"
      ;;
    kube-router)
      echo "github.com/cloudnativelabs/kube-router/v2 ${KUBE_ROUTER_VERSION} ./cmd/kube-router" \
        "github.com/cloudnativelabs/kube-router/v2/pkg/version.Version"
      ;;
    *) die "unknown add-on '$1': use traefik, metrics-server or kube-router" ;;
  esac
}

# build_binary ADDON MODULE VERSION PACKAGE VERSION_VAR
build_binary() {
  local addon="$1" module="$2" version="$3" package="$4" version_var="$5"
  local binary="${REPO_ROOT}/bin/${addon}" stamp="${REPO_ROOT}/bin/.${addon}-${version}"
  if [[ -x "${binary}" && -f "${stamp}" ]]; then
    return
  fi
  command -v go >/dev/null 2>&1 || die "building ${addon} needs Go (${module}@${version})"
  local dir start="${SECONDS}"
  log "go mod download ${module}@${version}"
  dir="$(go mod download -json "${module}@${version}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  log "go build ${package} in ${dir}"
  mkdir -p "${REPO_ROOT}/bin"
  (cd "${dir}" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X ${version_var}=${version}" -o "${binary}" "${package}")
  rm -f "${REPO_ROOT}/bin/.${addon}-"*
  touch "${stamp}"
  log "built bin/${addon} in $((SECONDS - start)) s"
}

# build_image ADDON VERSION
build_image() {
  local addon="$1" version="$2"
  local image="local/${addon}:${version#v}"
  if [[ ! -f "${REPO_ROOT}/images/${addon}/Dockerfile" ]] \
    || docker image inspect "${image}" >/dev/null 2>&1; then
    return
  fi
  local context
  context="$(mktemp -d)"
  cp "${REPO_ROOT}/images/${addon}/Dockerfile" "${REPO_ROOT}/bin/${addon}" "${context}/"
  log "building ${image} (FROM scratch, bin/${addon})"
  build_local_image "${image}" "${context}" --build-arg "APP_TAG=${version}"
  rm -rf "${context}"
}

main() {
  (($# > 0)) || die "usage: hack/build/addons.sh ADDON... (traefik, metrics-server, kube-router)"
  local addon spec module version package version_var
  for addon in "$@"; do
    spec="$(addon_spec "${addon}")"
    read -r module version package version_var <<<"${spec}"
    build_binary "${addon}" "${module}" "${version}" "${package}" "${version_var}"
    build_image "${addon}" "${version}"
  done
}

main "$@"
