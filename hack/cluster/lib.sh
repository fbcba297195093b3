#!/usr/bin/env bash
# Shared settings and helpers for the offline cluster scripts (sourced, not run).
#
# Usage: source "${REPO_ROOT}/hack/cluster/lib.sh"
#
# Every path and address lives here so cluster-up, cluster-down and
# load-image agree. Override the state directory with CLUSTER_STATE_DIR.

# shellcheck disable=SC2034  # settings are used by the scripts that source this file
# shellcheck source=hack/versions.env
source "${REPO_ROOT}/hack/versions.env"

K8S_CACHE_DIR="${K8S_CACHE_DIR:-${HOME}/.cache/tf-serving-k8s}"
K8S_BIN_DIR="${K8S_CACHE_DIR}/k8s-${KUBERNETES_VERSION}/bin"
IMAGE_CACHE_DIR="${K8S_CACHE_DIR}/images"
# The offline kind node image (hack/cluster/build-kind-node.sh builds it, hack/kind-up.sh
# runs it). Bump the -rN suffix when the node recipe changes: an older image is rebuilt.
OFFLINE_KIND_NODE_IMAGE="tfserving.local/kind-node:${KUBERNETES_VERSION}-r2"
STATE_DIR="${CLUSTER_STATE_DIR:-/var/lib/tf-serving-k8s}"
RUN_DIR="${STATE_DIR}/run"
LOG_DIR="${STATE_DIR}/logs"
PKI_DIR="${STATE_DIR}/pki"
KUBECONFIG_PATH="${STATE_DIR}/kubeconfig"
CONTAINERD_SOCKET="/run/tf-serving-k8s/containerd/containerd.sock"
CONTAINERD_NAMESPACE="k8s.io"

NODE_NAME="tf-serving-node"
BRIDGE_NAME="tfk8s0"
POD_CIDR="10.244.0.0/24"
BRIDGE_IP="10.244.0.1"
CLUSTER_CIDR="10.244.0.0/16"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SERVICE_IP="10.96.0.1"
API_PORT=6443
API_SERVER="https://${BRIDGE_IP}:${API_PORT}"
ETCD_CLIENT_URL="http://127.0.0.1:2379"
ETCD_PEER_URL="http://127.0.0.1:2380"
CLUSTER_DOMAIN="cluster.local"
DNS_IP="${BRIDGE_IP}"
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns)

log() { printf '[cluster %s] %s\n' "$(date -u +%T)" "$*" >&2; }

die() {
  log "ERROR: $*"
  exit 1
}

kubectl_admin() {
  "${K8S_BIN_DIR}/kubectl" --kubeconfig "${KUBECONFIG_PATH}" "$@"
}

ctr_k8s() {
  ctr --address "${CONTAINERD_SOCKET}" --namespace "${CONTAINERD_NAMESPACE}" "$@"
}

pid_of() {
  local pid_file="${RUN_DIR}/$1.pid" pid
  [[ -f "${pid_file}" ]] || return 1
  pid="$(cat "${pid_file}")"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 1
  printf '%s\n' "${pid}"
}

is_running() { pid_of "$1" >/dev/null; }

show_log_tail() {
  local name="$1"
  log "last lines of ${LOG_DIR}/${name}.log:"
  tail -n 30 "${LOG_DIR}/${name}.log" >&2 2>/dev/null || true
}

# wait_for DESCRIPTION TIMEOUT_S COMPONENT CMD...: poll CMD each second; on
# timeout (or when COMPONENT's process died) print its log tail and fail.
wait_for() {
  local what="$1" timeout="$2" component="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "${component}" ]] && ! is_running "${component}"; then
      show_log_tail "${component}"
      die "${component} exited while waiting for ${what}"
    fi
    if ((SECONDS >= deadline)); then
      [[ -n "${component}" ]] && show_log_tail "${component}"
      die "timed out after ${timeout}s waiting for ${what}"
    fi
    sleep 1
  done
}
