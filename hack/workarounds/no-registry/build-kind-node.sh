#!/usr/bin/env bash
# Build an offline kind node image from Debian packages and our own binaries (no pulls).
#
# Usage: hack/workarounds/no-registry/build-kind-node.sh   (root; needs dockerd, e.g. hack/make-rules/dockerd-up.sh)
#
# 1. Node rootfs: debootstrap (systemd, containerd, runc, CNI plugins, etcd,
#    iptables, ipset for the e2e policy agent) from the host's apt source, cached as a tar keyed
#    by the package list.
# 2. Adds kubelet/kubeadm/kubectl (hack/workarounds/no-registry/build-kubernetes.sh), a kubelet
#    unit, containerd and bridge CNI configs, our entrypoint and /kind/version.
# 3. Control-plane images (one image, many tags under tfserving.local: kube-apiserver,
#    kube-controller-manager, kube-scheduler, kube-proxy with iptables, coredns)
#    and our pause image, written with hack/workarounds/no-registry/oci_archive.py into /kind/images
#    and imported by a systemd unit on first boot before the kubelet starts.
# 4. `docker import` as ${OFFLINE_KIND_NODE_IMAGE}. etcd runs as the node's Debian systemd
#    service (kubeadm is pointed at it as external etcd by hack/make-rules/kind-up.sh).
set -o errexit -o nounset -o pipefail

# shellcheck source=hack/workarounds/no-registry/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_PACKAGES="systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,etcd-server,iptables,ipset,conntrack,socat,ethtool,mount,kmod,ca-certificates,procps,iproute2,util-linux"
KIND_CACHE="${K8S_CACHE_DIR}/kind-node"
IMAGE_REPOSITORY="tfserving.local"

find_debian_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')"
  if [[ -z "${uri}" && -f /etc/apt/sources.list ]]; then
    uri="$(awk '/^deb / && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)"
  fi
  [[ -n "${uri}" ]] || die "no Debian mirror in /etc/apt/sources*"
  printf '%s\n' "${uri}"
}

build_rootfs_tar() {
  local key tar work
  key="$(printf '%s bookworm' "${NODE_PACKAGES}" | sha256sum | cut -c1-16)"
  tar="${KIND_CACHE}/rootfs-${key}.tar"
  if [[ ! -f "${tar}" ]]; then
    work="$(mktemp -d "${KIND_CACHE}/rootfs.XXXXXX")"
    log "debootstrap node rootfs (${NODE_PACKAGES})"
    debootstrap --variant=minbase --include="${NODE_PACKAGES}" bookworm "${work}/rootfs" \
      "$(find_debian_mirror)" >"${work}/debootstrap.log" 2>&1 ||
      {
        tail -n 20 "${work}/debootstrap.log" >&2
        die "debootstrap failed"
      }
    rm -f "${work}/rootfs/etc/machine-id" "${work}/rootfs/var/lib/dbus/machine-id"
    rm -rf "${work}/rootfs/var/cache/apt/archives/"*.deb
    tar -C "${work}/rootfs" -cf "${tar}.tmp" . && mv "${tar}.tmp" "${tar}"
    rm -rf "${work}"
  fi
  printf '%s\n' "${tar}"
}

# control_plane_archive ROOTFS OUT: one image holding every control-plane
# binary, CoreDNS and iptables (for kube-proxy), tagged once per component.
control_plane_archive() {
  local rootfs="$1" out="$2" lib cmd
  local -a files=() links=()
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    files+=(--add "${K8S_BIN_DIR}/${cmd}:/usr/local/bin/${cmd}")
  done
  files+=(--add "${K8S_CACHE_DIR}/coredns-${COREDNS_VERSION}/bin/coredns:/coredns")
  files+=(--add "${rootfs}/usr/sbin/xtables-nft-multi:/usr/sbin/xtables-nft-multi")
  for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    links+=(--symlink "/usr/sbin/${cmd}:xtables-nft-multi")
  done
  while read -r lib; do
    files+=(--add "${rootfs}${lib}:${lib/#\/lib\//\/usr\/lib\/}")
  done < <(chroot "${rootfs}" /usr/bin/ldd /usr/sbin/xtables-nft-multi /usr/lib/x86_64-linux-gnu/xtables/*.so 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
  files+=(--add "${rootfs}/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2:/lib64/ld-linux-x86-64.so.2")
  for lib in "${rootfs}"/usr/lib/x86_64-linux-gnu/xtables/*.so; do
    files+=(--add "${lib}:${lib#"${rootfs}"}")
  done
  python3 "${REPO_ROOT}/hack/workarounds/no-registry/oci_archive.py" \
    --name "${IMAGE_REPOSITORY}/kube-apiserver:${KUBERNETES_VERSION}" \
    --name "${IMAGE_REPOSITORY}/kube-controller-manager:${KUBERNETES_VERSION}" \
    --name "${IMAGE_REPOSITORY}/kube-scheduler:${KUBERNETES_VERSION}" \
    --name "${IMAGE_REPOSITORY}/kube-proxy:${KUBERNETES_VERSION}" \
    --name "${IMAGE_REPOSITORY}/coredns:v1.12.1" \
    --env "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "${files[@]}" "${links[@]}" --entrypoint /coredns --output "${out}" >/dev/null
}

pause_archive() {
  local out="$1" work
  work="$(mktemp -d)"
  gcc -Os -static -Wall -Wextra -Werror -o "${work}/pause" "${REPO_ROOT}/images/pause/pause.c"
  strip "${work}/pause"
  python3 "${REPO_ROOT}/hack/workarounds/no-registry/oci_archive.py" --name "${CLUSTER_PAUSE_IMAGE}" \
    --name "${IMAGE_REPOSITORY}/pause:3.10.1" \
    --add "${work}/pause:/pause" --entrypoint /pause --output "${out}" >/dev/null
  rm -rf "${work}"
}

write_node_files() {
  local root="$1"
  install -m 0755 "${REPO_ROOT}/hack/workarounds/no-cap-sys-resource/entrypoint.sh" "${root}/usr/local/bin/entrypoint"
  install -m 0755 "${K8S_BIN_DIR}/kubelet" "${K8S_BIN_DIR}/kubeadm" "${K8S_BIN_DIR}/kubectl" "${root}/usr/bin/"
  mkdir -p "${root}/kind" "${root}/etc/containerd" "${root}/etc/cni/net.d" \
    "${root}/etc/systemd/system/kubelet.service.d" "${root}/etc/systemd/system/multi-user.target.wants"
  printf '%s\n' "${KUBERNETES_VERSION}" >"${root}/kind/version"
  cat >"${root}/etc/containerd/config.toml" <<TOML
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${CLUSTER_PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
  # Per-registry hosts.toml files, as kind's own node images (v0.27+) set: the local
  # registry of hack/make-rules/local-registry.sh is configured there.
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
TOML
  cat >"${root}/etc/cni/net.d/10-bridge.conflist" <<'JSON'
{
  "cniVersion": "0.4.0",
  "name": "kind-bridge",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  cat >"${root}/etc/systemd/system/kubelet.service" <<'UNIT'
[Unit]
Description=kubelet (offline kind node)
After=containerd.service tf-serving-images.service
Wants=containerd.service tf-serving-images.service
StartLimitIntervalSec=0

[Service]
Slice=kubelet.slice
ExecStart=/usr/bin/kubelet
Restart=always
RestartSec=1s

[Install]
WantedBy=multi-user.target
UNIT
  cat >"${root}/etc/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'UNIT'
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
UNIT
  # kind's kubelet config sets kubeletCgroups: /kubelet.slice
  cat >"${root}/etc/systemd/system/kubelet.slice" <<'UNIT'
[Unit]
Description=slice for the kubelet
Before=slices.target
UNIT
  cat >"${root}/etc/systemd/system/tf-serving-images.service" <<'UNIT'
[Unit]
Description=Import the node's built-in images into containerd (no registry)
After=containerd.service
Requires=containerd.service
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for tar in /kind/images/*.tar; do ctr -n k8s.io images import "$tar"; done'

[Install]
WantedBy=multi-user.target
UNIT
  ln -sf /etc/systemd/system/kubelet.service "${root}/etc/systemd/system/multi-user.target.wants/kubelet.service"
  ln -sf /etc/systemd/system/tf-serving-images.service \
    "${root}/etc/systemd/system/multi-user.target.wants/tf-serving-images.service"
}

main() {
  ((EUID == 0)) || die "run as root (debootstrap, chroot)"
  command -v docker >/dev/null || die "docker is missing; start it with hack/make-rules/dockerd-up.sh"
  "${REPO_ROOT}/hack/workarounds/no-registry/install-host-packages.sh"
  mkdir -p "${KIND_CACHE}"
  "${REPO_ROOT}/hack/workarounds/no-registry/build-kubernetes.sh" >/dev/null
  "${REPO_ROOT}/hack/workarounds/no-registry/build-coredns.sh" >/dev/null
  [[ -x "${K8S_BIN_DIR}/kubeadm" ]] || die "kubeadm missing in ${K8S_BIN_DIR}"
  local start="${SECONDS}" rootfs_tar work
  rootfs_tar="$(build_rootfs_tar)"
  work="$(mktemp -d "${KIND_CACHE}/node.XXXXXX")"
  mkdir -p "${work}/rootfs"
  tar -C "${work}/rootfs" -xf "${rootfs_tar}"
  write_node_files "${work}/rootfs"
  mkdir -p "${work}/rootfs/kind/images"
  log "writing control-plane and pause image archives"
  control_plane_archive "${work}/rootfs" "${work}/rootfs/kind/images/control-plane.tar"
  pause_archive "${work}/rootfs/kind/images/pause.tar"
  log "importing ${OFFLINE_KIND_NODE_IMAGE} into docker"
  tar -C "${work}/rootfs" -c . | docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change 'ENV container=docker' - "${OFFLINE_KIND_NODE_IMAGE}" >/dev/null
  rm -rf "${work}"
  log "built ${OFFLINE_KIND_NODE_IMAGE} in $((SECONDS - start)) s"
  printf '%s\n' "${OFFLINE_KIND_NODE_IMAGE}"
}

main "$@"
