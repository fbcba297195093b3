#!/usr/bin/env bash
# Create a kind cluster from the offline node image (no pulls): kind's own path, built here.
#
# Usage: hack/make-rules/kind-up.sh [--config FILE] [CLUSTER_NAME]   (root; needs dockerd, e.g. hack/make-rules/dockerd-up.sh)
#
# Builds the offline node image (OFFLINE_KIND_NODE_IMAGE, hack/workarounds/no-registry/lib.sh) with
# hack/workarounds/no-registry/build-kind-node.sh when missing, then runs the pinned kind (through
# hack/workarounds/no-cap-sys-resource/docker only where a probe shows privileged root containers
# cannot start; see hack/workarounds/NOTES.md). FILE is a kind config to start from
# (`make demo` passes k8s/kind-config.yaml: its mounts and port mappings); its node
# image is replaced by the offline one and the settings below are added, so FILE
# must not set networking or kubeadmConfigPatches itself. kubeadm uses images under
# tfserving.local and the node's Debian etcd as external etcd; the CNI is a
# plain bridge baked into the node. Writes the kubeconfig to
# ${K8S_CACHE_DIR}/kind-<name>.kubeconfig and prints its path. Idempotent.
# Env: KUBELET_SYNC_FREQUENCY (e.g. 10s) sets the kubelet's syncFrequency, which bounds
# how late a ConfigMap change reaches a mounted volume; unset keeps kubelet's 1m default.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# shellcheck source=hack/workarounds/no-registry/lib.sh
source "${REPO_ROOT}/hack/workarounds/no-registry/lib.sh"
# shellcheck source=hack/lib/kind.sh
source "${REPO_ROOT}/hack/lib/kind.sh"

BASE_CONFIG=""
if [[ "${1:-}" == --config ]]; then
  BASE_CONFIG="${2:?--config needs a file}"
  shift 2
fi
CLUSTER_NAME="${1:-tf-serving-offline}"
KIND_BIN="${KIND_BIN:-${REPO_ROOT}/bin/kind}"
KUBECONFIG_OUT="${K8S_CACHE_DIR}/kind-${CLUSTER_NAME}.kubeconfig"

# The offline settings: no default CNI (the node image brings a bridge), the API on
# loopback, kubeadm's images from tfserving.local and the node's own etcd.
offline_settings() {
  cat <<YAML
networking:
  disableDefaultCNI: true
  apiServerAddress: 127.0.0.1
kubeadmConfigPatches:
- |
  kind: ClusterConfiguration
  imageRepository: tfserving.local
  etcd:
    external:
      endpoints: ["http://127.0.0.1:2379"]
YAML
  if [[ -n "${KUBELET_SYNC_FREQUENCY:-}" ]]; then
    printf -- '- |\n  kind: KubeletConfiguration\n  syncFrequency: %s\n' "${KUBELET_SYNC_FREQUENCY}"
  fi
}

write_config() {
  if [[ -z "${BASE_CONFIG}" ]]; then
    printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n'
  else
    [[ -f "${BASE_CONFIG}" ]] || die "kind config ${BASE_CONFIG} does not exist"
    if grep -qE '^(networking|kubeadmConfigPatches):' "${BASE_CONFIG}"; then
      die "${BASE_CONFIG} sets networking or kubeadmConfigPatches, which the offline node image needs to set: remove them from it"
    fi
    cat "${BASE_CONFIG}"
  fi
  offline_settings
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
    die "dockerd is not running; start it with hack/make-rules/dockerd-up.sh"
  fi
  if ! docker image inspect "${OFFLINE_KIND_NODE_IMAGE}" >/dev/null 2>&1; then
    "${REPO_ROOT}/hack/workarounds/no-registry/build-kind-node.sh" >/dev/null
  fi
  use_docker_shim_if_needed "${OFFLINE_KIND_NODE_IMAGE}"
  if grep -qx "${CLUSTER_NAME}" < <("${KIND_BIN}" get clusters 2>/dev/null); then
    log "kind cluster ${CLUSTER_NAME} exists (reused)"
  else
    local start="${SECONDS}" config
    config="$(mktemp)"
    write_config >"${config}"
    log "creating kind cluster ${CLUSTER_NAME} from ${OFFLINE_KIND_NODE_IMAGE}"
    # kind resolves relative extraMounts host paths against the working directory.
    (cd "${REPO_ROOT}" && "${KIND_BIN}" create cluster --name "${CLUSTER_NAME}" --config "${config}" \
      --image "${OFFLINE_KIND_NODE_IMAGE}" --wait 180s --retain >&2)
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
