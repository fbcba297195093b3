#!/usr/bin/env bash
# Stop the offline cluster started by hack/cluster-up.sh and remove its state.
#
# Usage: hack/cluster-down.sh [--keep-state]
#
# Removes every pod sandbox (CNI teardown included), stops the components in
# reverse order, removes kube-proxy's and CNI's iptables chains, the bridge and
# its route, unmounts leftovers and deletes the state directory (unless
# --keep-state). Build caches (binaries, image archives) are kept. Safe to run
# when nothing is up.
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

REMOVE_PODS="${K8S_BIN_DIR}/remove-pods"

stop_component() {
  local name="$1" pid
  pid="$(pid_of "${name}")" || {
    rm -f "${RUN_DIR}/${name}.pid"
    return 0
  }
  log "stopping ${name} (pid ${pid})"
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "${pid}" 2>/dev/null; then
    log "${name} ignored SIGTERM; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
  fi
  rm -f "${RUN_DIR}/${name}.pid"
}

remove_pods() {
  is_running containerd || return 0
  if [[ -x "${REMOVE_PODS}" ]]; then
    log "removing all pod sandboxes through CRI"
    "${REMOVE_PODS}" -endpoint "unix://${CONTAINERD_SOCKET}" >/dev/null && return 0
    log "remove-pods failed; falling back to ctr"
  fi
  # Without remove-pods (hack/cluster/build/cmd/remove-pods): kill the tasks directly and delete the network namespaces.
  local id netns
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do
    ctr_k8s tasks kill --signal SIGKILL "${id}" >/dev/null 2>&1 || true
  done
  sleep 1
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do
    netns="$(ctr_k8s containers info "${id}" 2>/dev/null |
      python3 -c 'import json,sys; ns=[n.get("path","") for n in json.load(sys.stdin)["Spec"]["linux"]["namespaces"] if n["type"]=="network"]; print(ns[0] if ns else "")' 2>/dev/null || true)"
    ctr_k8s tasks delete --force "${id}" >/dev/null 2>&1 || true
    ctr_k8s containers delete "${id}" >/dev/null 2>&1 || true
    if [[ "${netns}" == /var/run/netns/cni-* || "${netns}" == /run/netns/cni-* ]]; then
      umount "${netns}" 2>/dev/null || true
      rm -f "${netns}"
    fi
  done
}

clean_iptables() {
  if [[ -x "${K8S_BIN_DIR}/kube-proxy" ]]; then
    "${K8S_BIN_DIR}/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  local chain tool table
  # Chains the kubelet creates itself (kube-proxy --cleanup leaves them).
  for tool in iptables ip6tables; do
    command -v "${tool}" >/dev/null || continue
    "${tool}" -w -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
    "${tool}" -w -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
    "${tool}" -w -F KUBE-FIREWALL 2>/dev/null || true
    "${tool}" -w -X KUBE-FIREWALL 2>/dev/null || true
    for table in filter mangle nat; do
      "${tool}" -w -t "${table}" -X KUBE-KUBELET-CANARY 2>/dev/null || true
    done
    "${tool}" -w -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null || true
  done
  for chain in CNI-FORWARD CNI-ADMIN; do
    iptables -w -D FORWARD -m comment --comment "CNI firewall plugin rules" -j "${chain}" 2>/dev/null || true
    iptables -w -F "${chain}" 2>/dev/null || true
    iptables -w -X "${chain}" 2>/dev/null || true
  done
  iptables -w -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
  for chain in CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ; do
    iptables -w -t nat -F "${chain}" 2>/dev/null || true
  done
}

remove_network() {
  ip route del "${SERVICE_CIDR}" dev "${BRIDGE_NAME}" 2>/dev/null || true
  if ip link show "${BRIDGE_NAME}" >/dev/null 2>&1; then
    log "deleting bridge ${BRIDGE_NAME}"
    ip link del "${BRIDGE_NAME}"
  fi
}

unmount_leftovers() {
  local mount_point
  awk '{print $2}' /proc/mounts |
    grep -E "^(${STATE_DIR}/|/run/tf-serving-k8s/)" | sort -r |
    while read -r mount_point; do
      umount -l "${mount_point}" 2>/dev/null || true
    done
}

main() {
  ((EUID == 0)) || die "run as root"
  local keep_state=false
  [[ "${1:-}" == "--keep-state" ]] && keep_state=true
  [[ -d "${STATE_DIR}" ]] || {
    log "no cluster state in ${STATE_DIR}; nothing to do"
    return 0
  }
  stop_component coredns
  stop_component kube-proxy
  stop_component kubelet
  remove_pods
  stop_component kube-scheduler
  stop_component kube-controller-manager
  stop_component kube-apiserver
  stop_component etcd
  stop_component containerd
  clean_iptables
  remove_network
  unmount_leftovers
  if [[ "${keep_state}" == false ]]; then
    # /tmp/hostpath_provisioner: volumes of the default StorageClass (cluster-up.sh).
    rm -rf "${STATE_DIR}" /run/tf-serving-k8s /tmp/hostpath_provisioner
    log "removed ${STATE_DIR}"
  fi
  log "cluster down"
}

main "$@"
