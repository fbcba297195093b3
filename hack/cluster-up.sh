#!/usr/bin/env bash
# Start the offline Kubernetes cluster as host processes (no image pulls, no downloads).
#
# Usage: hack/cluster-up.sh        (root; idempotent: reuses a healthy cluster)
#
# Runs etcd (Debian), kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet and kube-proxy (built from the Go module proxy by
# hack/cluster/build-kubernetes.sh), containerd + runc + CNI bridge (Debian) and
# CoreDNS (hack/cluster/build-coredns.sh), all as host processes. Missing Debian
# packages are installed first (hack/cluster/install-host-packages.sh).
# Listeners are on 127.0.0.1 or the cluster's own bridge (10.244.0.1). State,
# logs and pid files live under ${CLUSTER_STATE_DIR:-/var/lib/tf-serving-k8s};
# the admin kubeconfig is <state>/kubeconfig and <state>/env.sh exports
# KUBECONFIG and PATH. Load images with hack/cluster/load-image.sh.
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

COREDNS_BIN="${K8S_CACHE_DIR}/coredns-${COREDNS_VERSION:-none}/bin/coredns"

check_host() {
  ((EUID == 0)) || die "run as root (the kubelet, containerd and iptables need it)"
  "${REPO_ROOT}/hack/cluster/install-host-packages.sh"
  local tool
  for tool in containerd containerd-shim-runc-v2 runc ctr etcd iptables ip openssl conntrack python3; do
    command -v "${tool}" >/dev/null ||
      die "${tool} is missing; install it: apt-get install -y containerd runc etcd-server iptables iproute2 openssl conntrack"
  done
  for tool in bridge host-local portmap firewall loopback; do
    [[ -x "/usr/lib/cni/${tool}" ]] ||
      die "/usr/lib/cni/${tool} is missing; install it: apt-get install -y containernetworking-plugins"
  done
}

is_healthy() {
  local component
  for component in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    is_running "${component}" || return 1
  done
  if [[ -x "${COREDNS_BIN}" ]]; then
    is_running coredns || return 1
  fi
  kubectl_admin get --raw /readyz >/dev/null 2>&1 || return 1
  node_is_ready
}

node_is_ready() {
  [[ "$(kubectl_admin get node "${NODE_NAME}" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == "True" ]]
}

# start_component NAME CMD...: run detached (own session) with log and pid file.
start_component() {
  local name="$1"
  shift
  if is_running "${name}"; then
    log "${name} already running (pid $(pid_of "${name}"))"
    return
  fi
  log "starting ${name}"
  printf '\n==== %s start %s\n' "$(date -u +%FT%TZ)" "${name}" >>"${LOG_DIR}/${name}.log"
  setsid "$@" >>"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"${RUN_DIR}/${name}.pid"
}

setup_network() {
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] &&
    sysctl -qw net.bridge.bridge-nf-call-iptables=1
  if ! ip link show "${BRIDGE_NAME}" >/dev/null 2>&1; then
    log "creating bridge ${BRIDGE_NAME} (${BRIDGE_IP}/24)"
    ip link add "${BRIDGE_NAME}" type bridge
  fi
  # replace, not add: idempotent when a leftover bridge still holds the address.
  ip addr replace "${BRIDGE_IP}/24" dev "${BRIDGE_NAME}"
  ip link set "${BRIDGE_NAME}" up
  # Keep Service IPs on the bridge: a ClusterIP without rules never leaves the host.
  ip route replace "${SERVICE_CIDR}" dev "${BRIDGE_NAME}" src "${BRIDGE_IP}"
}

import_image() {
  local tar="$1" name="$2"
  if grep -qx "${name}" < <(ctr_k8s images ls -q 2>/dev/null); then
    return
  fi
  log "importing ${name} into containerd (${CONTAINERD_NAMESPACE})"
  ctr_k8s images import --no-unpack=false "${tar}" >/dev/null
}

start_containerd() {
  start_component containerd containerd --config "${STATE_DIR}/containerd/config.toml"
  wait_for "containerd socket" 60 containerd ctr --address "${CONTAINERD_SOCKET}" version
  import_image "${IMAGE_CACHE_DIR}/pause.tar" "${CLUSTER_PAUSE_IMAGE}"
  import_image "${IMAGE_CACHE_DIR}/busybox.tar" "${CLUSTER_BUSYBOX_IMAGE}"
}

start_etcd() {
  start_component etcd etcd --name tf-serving-etcd --data-dir "${STATE_DIR}/etcd" \
    --listen-client-urls "${ETCD_CLIENT_URL}" --advertise-client-urls "${ETCD_CLIENT_URL}" \
    --listen-peer-urls "${ETCD_PEER_URL}" --initial-advertise-peer-urls "${ETCD_PEER_URL}" \
    --initial-cluster "tf-serving-etcd=${ETCD_PEER_URL}" --listen-metrics-urls "" \
    --quota-backend-bytes 2147483648 --snapshot-count 10000
  wait_for "etcd health" 60 etcd python3 -c \
    "import urllib.request,sys; sys.exit(b'true' not in urllib.request.urlopen('${ETCD_CLIENT_URL}/health', timeout=2).read())"
}

start_apiserver() {
  start_component kube-apiserver "${K8S_BIN_DIR}/kube-apiserver" \
    --etcd-servers="${ETCD_CLIENT_URL}" \
    --bind-address="${BRIDGE_IP}" --advertise-address="${BRIDGE_IP}" --secure-port="${API_PORT}" \
    --tls-cert-file="${PKI_DIR}/apiserver.crt" --tls-private-key-file="${PKI_DIR}/apiserver.key" \
    --client-ca-file="${PKI_DIR}/ca.crt" \
    --kubelet-client-certificate="${PKI_DIR}/apiserver-kubelet-client.crt" \
    --kubelet-client-key="${PKI_DIR}/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-key-file="${PKI_DIR}/sa.pub" \
    --service-account-signing-key-file="${PKI_DIR}/sa.key" \
    --service-account-issuer="https://kubernetes.default.svc.${CLUSTER_DOMAIN}" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --profiling=false \
    --v=1
  wait_for "kube-apiserver /readyz" 180 kube-apiserver kubectl_admin get --raw /readyz
}

grant_coredns() {
  kubectl_admin apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: tf-serving-coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: tf-serving-coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: tf-serving-coredns
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: tf-serving-coredns
YAML
}

start_control_plane() {
  start_component kube-controller-manager "${K8S_BIN_DIR}/kube-controller-manager" \
    --kubeconfig="${STATE_DIR}/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --service-account-private-key-file="${PKI_DIR}/sa.key" \
    --root-ca-file="${PKI_DIR}/ca.crt" \
    --cluster-signing-cert-file="${PKI_DIR}/ca.crt" --cluster-signing-key-file="${PKI_DIR}/ca.key" \
    --use-service-account-credentials=true \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --enable-hostpath-provisioner=true \
    --leader-elect=false --profiling=false --v=1
  start_component kube-scheduler "${K8S_BIN_DIR}/kube-scheduler" \
    --kubeconfig="${STATE_DIR}/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1
}

start_node() {
  start_component kubelet "${K8S_BIN_DIR}/kubelet" \
    --config="${STATE_DIR}/kubelet-config.yaml" \
    --kubeconfig="${STATE_DIR}/kubelet.kubeconfig" \
    --hostname-override="${NODE_NAME}" --node-ip="${BRIDGE_IP}" \
    --root-dir="${STATE_DIR}/kubelet" --cert-dir="${STATE_DIR}/kubelet/pki" --v=1
  start_component kube-proxy "${K8S_BIN_DIR}/kube-proxy" \
    --config="${STATE_DIR}/kube-proxy-config.yaml" --v=1
  if [[ -x "${COREDNS_BIN}" ]]; then
    start_component coredns "${COREDNS_BIN}" -conf "${STATE_DIR}/Corefile"
  else
    die "CoreDNS missing (${COREDNS_BIN}); build it with hack/cluster/build-coredns.sh"
  fi
}

wait_ready() {
  wait_for "node ${NODE_NAME} Ready" 180 kubelet node_is_ready
  wait_for "default service account" 60 kube-controller-manager \
    kubectl_admin get serviceaccount default --namespace default
}

# The default StorageClass: Kubernetes' own single-node hostPath provisioner
# (kube-controller-manager --enable-hostpath-provisioner; volumes under
# /tmp/hostpath_provisioner), so charts' PVCs bind as on kind.
add_storage_class() {
  kubectl_admin apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
YAML
}

write_env() {
  cat >"${STATE_DIR}/env.sh" <<ENV
# Source me: the offline cluster's kubeconfig and binaries.
export KUBECONFIG="${KUBECONFIG_PATH}"
export PATH="${K8S_BIN_DIR}:\${PATH}"
ENV
}

main() {
  local start="${SECONDS}"
  check_host
  "${REPO_ROOT}/hack/cluster/build-kubernetes.sh" >/dev/null
  "${REPO_ROOT}/hack/cluster/build-coredns.sh" >/dev/null
  mkdir -p "${RUN_DIR}" "${LOG_DIR}"
  if is_healthy; then
    log "cluster already up and healthy (reused)"
  else
    "${REPO_ROOT}/hack/cluster/pki.sh"
    "${REPO_ROOT}/hack/cluster/configs.sh"
    "${REPO_ROOT}/hack/cluster/build-images.sh"
    setup_network
    start_containerd
    start_etcd
    start_apiserver
    grant_coredns
    start_control_plane
    start_node
    wait_ready
    add_storage_class
    log "cluster up in $((SECONDS - start)) s"
  fi
  write_env
  log "export KUBECONFIG=${KUBECONFIG_PATH}   (or: source ${STATE_DIR}/env.sh)"
  printf '%s\n' "${KUBECONFIG_PATH}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
