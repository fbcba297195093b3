#!/usr/bin/env bash
# Write the offline cluster's config files: containerd, CNI, kubelet, kube-proxy, CoreDNS.
#
# Usage: hack/cluster/configs.sh   (called by hack/cluster-up.sh; rewrites every run)
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "${REPO_ROOT}/hack/cluster/lib.sh"

# write_file PATH: write stdin to PATH only when the content differs (kube-proxy
# exits when its config file changes, so rewriting identical files would kill it).
write_file() {
  local path="$1" tmp
  tmp="$(mktemp "${path}.XXXXXX")"
  cat >"${tmp}"
  if cmp -s "${tmp}" "${path}"; then
    rm -f "${tmp}"
  else
    mv -f "${tmp}" "${path}"
  fi
}

write_containerd() {
  mkdir -p "${STATE_DIR}/containerd" "$(dirname "${CONTAINERD_SOCKET}")"
  write_file "${STATE_DIR}/containerd/config.toml" <<TOML
version = 2
root = "${STATE_DIR}/containerd/root"
state = "/run/tf-serving-k8s/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${CONTAINERD_SOCKET}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${STATE_DIR}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${CLUSTER_PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # The VM lacks CAP_SYS_RESOURCE: negative oom_score_adj fails (EIO), so clamp to ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${STATE_DIR}/cni/net.d"
TOML
}

write_cni() {
  mkdir -p "${STATE_DIR}/cni/net.d" "${STATE_DIR}/cni/ipam"
  write_file "${STATE_DIR}/cni/net.d/10-tf-serving.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "tf-serving-k8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${BRIDGE_NAME}",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "${STATE_DIR}/cni/ipam",
        "ranges": [[{"subnet": "${POD_CIDR}", "gateway": "${BRIDGE_IP}"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "firewall", "backend": "iptables"},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

write_kubelet() {
  mkdir -p "${STATE_DIR}/kubelet"
  printf 'nameserver %s\nsearch default.svc.%s svc.%s %s\noptions ndots:5\n' \
    "${DNS_IP}" "${CLUSTER_DOMAIN}" "${CLUSTER_DOMAIN}" "${CLUSTER_DOMAIN}" | write_file "${STATE_DIR}/resolv.conf"
  write_file "${STATE_DIR}/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${BRIDGE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${PKI_DIR}/ca.crt
authorization:
  mode: Webhook
tlsCertFile: ${PKI_DIR}/kubelet-serving.crt
tlsPrivateKeyFile: ${PKI_DIR}/kubelet-serving.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${CONTAINERD_SOCKET}
clusterDomain: ${CLUSTER_DOMAIN}
clusterDNS:
- ${DNS_IP}
resolvConf: ${STATE_DIR}/resolv.conf
podLogsDir: ${STATE_DIR}/pod-logs
podPidsLimit: 4096
maxPods: 60
serializeImagePulls: false
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
  nodefs.inodesFree: "2%"
protectKernelDefaults: false
rotateCertificates: false
serverTLSBootstrap: false
YAML
}

write_kube_proxy() {
  write_file "${STATE_DIR}/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${STATE_DIR}/kube-proxy.kubeconfig
hostnameOverride: ${NODE_NAME}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: ${CLUSTER_CIDR}
mode: iptables
nodePortAddresses: ["primary"]
conntrack:
  maxPerCore: 0
YAML
}

write_coredns() {
  write_file "${STATE_DIR}/Corefile" <<COREFILE
.:53 {
    bind ${DNS_IP}
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${STATE_DIR}/coredns.kubeconfig tf-serving-k8s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
COREFILE
}

main() {
  write_containerd
  write_cni
  write_kubelet
  write_kube_proxy
  write_coredns
}

main "$@"
