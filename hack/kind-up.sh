#!/usr/bin/env bash
# Create a kind cluster from the offline node image (no pulls): kind's own path, built here.
#
# Usage: hack/kind-up.sh [CLUSTER_NAME]      (root; needs dockerd, e.g. hack/dockerd-up.sh)
#
# Builds tfserving.local/kind-node:<KUBERNETES_VERSION> with
# hack/cluster/build-kind-node.sh when missing, then runs the pinned kind with
# hack/cluster/kind/docker first on PATH (this VM cannot start --privileged root
# containers; see hack/cluster/NOTES.md). kubeadm uses images under
# tfserving.local and the node's Debian etcd as external etcd; the CNI is a
# plain bridge baked into the node. Writes the kubeconfig to
# ${K8S_CACHE_DIR}/kind-<name>.kubeconfig and prints its path. Idempotent.
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

CLUSTER_NAME="${1:-tf-serving-offline}"
KIND_NODE_IMAGE="tfserving.local/kind-node:${KUBERNETES_VERSION}"
KIND_BIN="${KIND_BIN:-${REPO_ROOT}/bin/kind}"
KUBECONFIG_OUT="${K8S_CACHE_DIR}/kind-${CLUSTER_NAME}.kubeconfig"

write_config() {
  cat <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
  apiServerAddress: 127.0.0.1
nodes:
- role: control-plane
  image: ${KIND_NODE_IMAGE}
kubeadmConfigPatches:
- |
  kind: ClusterConfiguration
  imageRepository: tfserving.local
  etcd:
    external:
      endpoints: ["http://127.0.0.1:2379"]
YAML
}

# CoreDNS keeps to cluster names: drop kubeadm's `forward . /etc/resolv.conf`
# (it would loop through the node's docker DNS and must not leave the host) and
# the loop check, then restart it.
patch_coredns() {
  local kubectl="${K8S_BIN_DIR}/kubectl" corefile
  corefile="$("${kubectl}" --kubeconfig "${KUBECONFIG_OUT}" -n kube-system get configmap coredns \
    -o jsonpath='{.data.Corefile}')"
  grep -q 'forward \.' <<<"${corefile}" || return 0
  log "CoreDNS: removing the upstream forward (cluster names only)"
  corefile="$(python3 -c '
import re, sys
text = sys.stdin.read()
text = re.sub(r"\n\s*forward \. [^\n]*\{[^}]*\}", "", text)
text = re.sub(r"\n\s*forward \. [^\n]*", "", text)
text = re.sub(r"\n\s*loop\b", "", text)
print(text)' <<<"${corefile}")"
  "${kubectl}" --kubeconfig "${KUBECONFIG_OUT}" -n kube-system create configmap coredns \
    --from-literal=Corefile="${corefile}" --dry-run=client -o yaml |
    "${kubectl}" --kubeconfig "${KUBECONFIG_OUT}" apply -f - >/dev/null
  "${kubectl}" --kubeconfig "${KUBECONFIG_OUT}" -n kube-system rollout restart deployment/coredns >/dev/null
  "${kubectl}" --kubeconfig "${KUBECONFIG_OUT}" -n kube-system rollout status deployment/coredns --timeout=120s >&2
}

main() {
  [[ -x "${KIND_BIN}" ]] || command -v kind >/dev/null || die "kind is missing; run: make tools"
  [[ -x "${KIND_BIN}" ]] || KIND_BIN="$(command -v kind)"
  if ! docker info >/dev/null 2>&1; then
    die "dockerd is not running; start it with hack/dockerd-up.sh"
  fi
  if ! docker image inspect "${KIND_NODE_IMAGE}" >/dev/null 2>&1; then
    "${REPO_ROOT}/hack/cluster/build-kind-node.sh" >/dev/null
  fi
  export PATH="${REPO_ROOT}/hack/cluster/kind:${PATH}"
  if grep -qx "${CLUSTER_NAME}" < <("${KIND_BIN}" get clusters 2>/dev/null); then
    log "kind cluster ${CLUSTER_NAME} exists (reused)"
  else
    local start="${SECONDS}" config
    config="$(mktemp)"
    write_config >"${config}"
    log "creating kind cluster ${CLUSTER_NAME} from ${KIND_NODE_IMAGE}"
    "${KIND_BIN}" create cluster --name "${CLUSTER_NAME}" --config "${config}" --wait 180s --retain >&2
    rm -f "${config}"
    log "kind cluster up in $((SECONDS - start)) s"
  fi
  "${KIND_BIN}" get kubeconfig --name "${CLUSTER_NAME}" >"${KUBECONFIG_OUT}"
  chmod 600 "${KUBECONFIG_OUT}"
  patch_coredns
  log "export KUBECONFIG=${KUBECONFIG_OUT}"
  printf '%s\n' "${KUBECONFIG_OUT}"
}

main "$@"
