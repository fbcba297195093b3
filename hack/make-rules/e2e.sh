#!/usr/bin/env bash
# `make e2e`: the chart on a kind cluster with the TF Serving STAND-IN image.
#
# dockerd (Debian's docker.io, started when none runs) -> local images (stand-in,
# busybox, gateway, model fetch, client tools, haproxy drain proxy, Traefik, metrics-server;
# nothing pulled) ->
# Kubernetes built from the Go module proxy (cached by version) -> the offline kind
# cluster `tf-serving-e2e` (hack/make-rules/kind-up.sh, the node image and settings `make demo`
# uses, with tests/e2e/kind-config.yaml's mounts) -> images loaded with
# hack/make-rules/kind-load.sh -> the add-ons built from source (hack/build/addons.sh,
# tests/e2e/manifests/): Traefik as the ingress controller, metrics-server for the HPA, and
# kube-router (the NetworkPolicy agent tests/e2e/policy_agent.py runs on the node) ->
# pytest -m kind on tests/cluster and tests/e2e (every ci/ scenario:
# install, helm test, smoke, load SLO from an in-cluster Job; rollout steps a-f under load;
# the upgrade from the previous chart release under load, as hack/make-rules/chart-testing.sh upgrade).
# The cluster is always torn down at the end, pass or fail; on a failure the
# tests dump describe/logs/events to out/e2e/<namespace>/dump.txt and stderr.
# Phase durations go to stderr and out/e2e/timings.txt.
#
# Usage: hack/make-rules/e2e.sh [PYTEST_ARGS...]   (root; e.g. hack/make-rules/e2e.sh -k rollouts)
# Env:   E2E_KEEP_CLUSTER=1 leaves the cluster up for debugging.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=hack/workarounds/no-registry/lib.sh
source "${REPO_ROOT}/hack/workarounds/no-registry/lib.sh"

readonly OUT_DIR="${REPO_ROOT}/out/e2e"
readonly TIMINGS="${OUT_DIR}/timings.txt"
readonly CLUSTER=tf-serving-e2e
readonly KIND_CONFIG="${REPO_ROOT}/tests/e2e/kind-config.yaml"
readonly IMAGES=(
  "tfserving-standin:${TFS_STANDIN_TAG}"
  "local/busybox:${LOCAL_BUSYBOX_TAG}"
  "tfserving-gateway:${GATEWAY_TAG}"
  "tf-serving-model-fetch:${MODEL_FETCH_TAG}"
  "tf-serving-client-tools:${CLIENT_TOOLS_TAG}"
  "local/haproxy:${HAPROXY_VERSION}"
)
# hack/build/addons.sh's images: local/<addon>:<version>.
readonly ADDON_IMAGES=(
  "local/traefik:${TRAEFIK_VERSION#v}"
  "local/metrics-server:${METRICS_SERVER_VERSION#v}"
)
readonly ADDONS=(traefik metrics-server kube-router)

log() { echo "[e2e $(date +%H:%M:%S)] $*" >&2; }

# Runs "$@" as a named phase and appends its duration to the timings file.
phase() {
  local name="$1" start="${SECONDS}" status=0
  shift
  log "phase ${name}"
  "$@" || status=$?
  printf '%-14s %5d s  exit %d\n' "${name}" "$((SECONDS - start))" "${status}" | tee -a "${TIMINGS}" >&2
  return "${status}"
}

tear_down() {
  local status=$?
  if [[ "${E2E_KEEP_CLUSTER:-0}" == 1 ]]; then
    log "E2E_KEEP_CLUSTER=1: kind cluster ${CLUSTER} left up (delete: bin/kind delete cluster --name ${CLUSTER})"
  else
    phase cluster-down "${REPO_ROOT}/bin/kind" delete cluster --name "${CLUSTER}" ||
      log "kind delete cluster failed (exit $?)"
  fi
  printf '%-14s %5d s\n' total "$((SECONDS - START))" >>"${TIMINGS}"
  log "timings (also ${TIMINGS}):"
  cat "${TIMINGS}" >&2
  exit "${status}"
}

# Kubernetes and CoreDNS from the Go module proxy (cached by version; cold ~15 min):
# the node image's binaries and the tests' kubectl.
build_cluster_binaries() {
  "${REPO_ROOT}/hack/workarounds/no-registry/build-kubernetes.sh" >/dev/null
  "${REPO_ROOT}/hack/workarounds/no-registry/build-coredns.sh" >/dev/null
}

# A fresh cluster each run: one left by E2E_KEEP_CLUSTER=1 may have other mounts. The
# host directories tests/e2e/kind-config.yaml mounts: the tests' models, and the
# provisioned volumes (emptied first: the provisioner deletes only inside its container).
kind_up() {
  "${REPO_ROOT}/bin/kind" delete cluster --name "${CLUSTER}" >/dev/null 2>&1 || true
  rm -rf /var/tmp/tf-serving-e2e-provisioned
  mkdir -p /var/tmp/tf-serving-e2e /var/tmp/tf-serving-e2e-provisioned
  # A ConfigMap change reaches a pod's volume at the kubelet's next pod sync (1m by
  # default, as `make demo` keeps): 10s here, since the rollout and canary tests wait
  # for about ten of them. tfs-rollout's 240 s default timeout covers the default.
  KUBELET_SYNC_FREQUENCY=10s \
    "${REPO_ROOT}/hack/make-rules/kind-up.sh" --config "${KIND_CONFIG}" "${CLUSTER}" >/dev/null
}

load_images() {
  "${REPO_ROOT}/hack/make-rules/kind-load.sh" --name "${CLUSTER}" "${IMAGES[@]}" "${ADDON_IMAGES[@]}"
}

# The add-ons (tests/e2e/manifests/<addon>.yaml with IMAGE replaced by the local image),
# each Ready before the tests start: Traefik serves IngressClass nginx, metrics-server
# the metrics.k8s.io API the HPA reads.
install_addons() {
  local kubeconfig="${K8S_CACHE_DIR}/kind-${CLUSTER}.kubeconfig" kubectl="${K8S_BIN_DIR}/kubectl"
  local image addon
  for image in "${ADDON_IMAGES[@]}"; do
    addon="${image#local/}"
    sed "s|image: IMAGE|image: ${image}|" "${REPO_ROOT}/tests/e2e/manifests/${addon%%:*}.yaml" \
      | "${kubectl}" --kubeconfig "${kubeconfig}" apply -f - >/dev/null
  done
  "${kubectl}" --kubeconfig "${kubeconfig}" -n tf-serving-ingress \
    rollout status deployment/traefik --timeout=120s >&2
  "${kubectl}" --kubeconfig "${kubeconfig}" -n kube-system \
    rollout status deployment/metrics-server --timeout=120s >&2
  # After the rollout: see the file's header.
  "${kubectl}" --kubeconfig "${kubeconfig}" apply \
    -f "${REPO_ROOT}/tests/e2e/manifests/metrics-server-apiservice.yaml" >/dev/null
  "${kubectl}" --kubeconfig "${kubeconfig}" wait --for=condition=Available \
    apiservice/v1beta1.metrics.k8s.io --timeout=120s >&2
  # Available is the aggregator's check; the HPA needs node and pod metrics served.
  local tries=0
  until "${kubectl}" --kubeconfig "${kubeconfig}" get --raw \
    /apis/metrics.k8s.io/v1beta1/nodes 2>/dev/null | grep -q '"usage"'; do
    ((++tries < 60)) || die "metrics.k8s.io serves no node metrics after 120 s: kubectl -n kube-system logs deployment/metrics-server"
    sleep 2
  done
}

# tests/e2e/kube.py finds the kubeconfig hack/make-rules/kind-up.sh wrote for ${CLUSTER}.
run_tests() {
  E2E_REQUIRE_CLUSTER=1 E2E_OUT_DIR="${OUT_DIR}" "${REPO_ROOT}/hack/make-rules/run-pytest.sh" \
    -m kind tests/cluster tests/e2e -p no:cacheprovider -rs \
    --junitxml="${OUT_DIR}/junit.xml" "$@"
}

main() {
  ((EUID == 0)) || die "run as root: dockerd and kind's privileged node need it"
  mkdir -p "${OUT_DIR}"
  : >"${TIMINGS}"
  START="${SECONDS}"
  trap tear_down EXIT
  phase dockerd "${REPO_ROOT}/hack/make-rules/dockerd-up.sh"
  phase images "${REPO_ROOT}/hack/build/standin-image.sh"
  phase app-images "${REPO_ROOT}/hack/build/app-images.sh"
  phase drain-proxy "${REPO_ROOT}/hack/workarounds/no-registry/build-drain-proxy-image.sh"
  phase addons-build "${REPO_ROOT}/hack/build/addons.sh" "${ADDONS[@]}"
  phase k8s-build build_cluster_binaries
  phase kind-up kind_up
  phase load-images load_images
  phase addons install_addons
  phase tests run_tests "$@"
}

main "$@"
