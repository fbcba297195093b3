#!/usr/bin/env bash
# Build the Kubernetes cluster binaries from the Go module proxy (no release downloads).
#
# Usage: hack/workarounds/no-registry/build-kubernetes.sh [--force]
#
# Compiles kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy, kubectl and kubeadm (the offline kind node image's binaries and the
# tests' kubectl) at KUBERNETES_VERSION (hack/versions.env)
# with the pinned module in hack/workarounds/no-registry/kubernetes/ in ONE `go build`, so shared
# packages compile once. Output: ${K8S_CACHE_DIR}/k8s-<version>/bin. A warm run
# (all binaries present and stamped with the version) returns at once.
set -o errexit -o nounset -o pipefail
LOG_TAG="build-kubernetes"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"


K8S_CACHE_DIR="${K8S_CACHE_DIR:-${HOME}/.cache/tf-serving-k8s}"
BIN_DIR="${K8S_CACHE_DIR}/k8s-${KUBERNETES_VERSION}/bin"
BUILD_MODULE="${REPO_ROOT}/hack/workarounds/no-registry/kubernetes"
COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm)


check_module_version() {
  if ! grep -Eq "k8s.io/kubernetes v${KUBERNETES_VERSION#v}( // indirect)?\$" "${BUILD_MODULE}/go.mod"; then
    log "hack/workarounds/no-registry/kubernetes/go.mod does not pin k8s.io/kubernetes ${KUBERNETES_VERSION};"
    log "update its require and replace lines (staging modules at v0.<minor>.<patch>) to match hack/versions.env"
    exit 1
  fi
}

is_built() {
  local cmd
  for cmd in "${COMMANDS[@]}"; do
    [[ -x "${BIN_DIR}/${cmd}" ]] || return 1
  done
  [[ "$(cat "${BIN_DIR}/.version" 2>/dev/null)" == "${KUBERNETES_VERSION}" ]]
}

version_ldflags() {
  local version="${KUBERNETES_VERSION#v}" major minor key val
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  local -a pairs=(
    "gitVersion=v${version}"
    "gitMajor=${major}"
    "gitMinor=${minor}"
    "gitTreeState=clean"
    "gitCommit=module-proxy-v${version}"
    "buildDate=1970-01-01T00:00:00Z"
  )
  local flags="-s -w"
  for pair in "${pairs[@]}"; do
    key="${pair%%=*}"
    val="${pair#*=}"
    flags+=" -X k8s.io/client-go/pkg/version.${key}=${val}"
    flags+=" -X k8s.io/component-base/version.${key}=${val}"
  done
  printf '%s' "${flags}"
}

build() {
  local -a packages=()
  local cmd start
  for cmd in "${COMMANDS[@]}"; do
    packages+=("k8s.io/kubernetes/cmd/${cmd}")
  done
  mkdir -p "${BIN_DIR}"
  start="$(date +%s)"
  log "building ${COMMANDS[*]} at ${KUBERNETES_VERSION} into ${BIN_DIR} (cold build takes tens of minutes on 2 cores)"
  (
    cd "${BUILD_MODULE}"
    CGO_ENABLED=0 go build -trimpath -tags 'providerless' \
      -ldflags "$(version_ldflags)" -o "${BIN_DIR}/" "${packages[@]}"
  )
  printf '%s\n' "${KUBERNETES_VERSION}" >"${BIN_DIR}/.version"
  log "built in $(($(date +%s) - start)) s"
}

main() {
  if [[ "${1:-}" != "--force" ]] && is_built; then
    log "binaries for ${KUBERNETES_VERSION} already in ${BIN_DIR}"
  else
    check_module_version
    build
  fi
  printf '%s\n' "${BIN_DIR}"
}

main "$@"
