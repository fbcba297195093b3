#!/usr/bin/env bash
# The user path, `make demo`: kind cluster from k8s/kind-config.yaml -> fashion-MNIST
# export into models/ -> helm upgrade --install with the kind/hostPath scenario ->
# rollout -> smoke test -> next steps. Idempotent: an existing cluster and release
# are reused. `make down` deletes the cluster.
#
# SERVER picks the model server:
#   real     kind's published node image and the real tensorflow/serving image
#            (pulled); stops with exit 3 within PULL_CHECK_SECONDS when no registry answers.
#   standin  everything built here, nothing pulled: the offline kind node image
#            (hack/make-rules/kind-up.sh) and the TF Serving STAND-IN image (tests and demos
#            only; it is not TensorFlow Serving), under a banner that says so.
#   auto     (default) real when the registry answers within PULL_CHECK_SECONDS, else standin.
#
# Usage: hack/make-rules/demo.sh [CLUSTER] [RELEASE]
# Env:   SERVER, NAMESPACE, MODELS_DIR, MODEL_NAME, DEMO_VALUES (scenario file),
#        PULL_CHECK_SECONDS (default 10), PULL_TIMEOUT (default 900),
#        ROLLOUT_TIMEOUT (default 600s), KIND_NODE_IMAGE
set -o errexit -o nounset -o pipefail
LOG_TAG="demo"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly NODE_IMAGE_OVERRIDE="${KIND_NODE_IMAGE:-}"

readonly CLUSTER="${1:-${KIND_CLUSTER:-tf-serving}}"
readonly RELEASE="${2:-${RELEASE:-tf-serving}}"
readonly NAMESPACE="${NAMESPACE:-default}"
readonly CONTEXT="kind-${CLUSTER}"
readonly MODELS_DIR="${MODELS_DIR:-models}"
readonly MODEL_NAME="${MODEL_NAME:-fashion_mnist}"
readonly CHART_DIR="${REPO_ROOT}/charts/tf-serving"
readonly KIND_CONFIG="${REPO_ROOT}/k8s/kind-config.yaml"
readonly NODE_IMAGE="${NODE_IMAGE_OVERRIDE:-${KIND_NODE_IMAGE}}"
readonly SERVING_REPOSITORY="tensorflow/serving"
readonly SERVING_IMAGE="${SERVING_REPOSITORY}:${TF_SERVING_VERSION}"
# The chart's REST drain proxy sidecar (drainProxy.image), the official HAProxy image.
readonly DRAIN_PROXY_IMAGE="haproxy:${HAPROXY_VERSION}"
readonly PULL_CHECK_SECONDS="${PULL_CHECK_SECONDS:-10}"
readonly PULL_TIMEOUT="${PULL_TIMEOUT:-900}"
readonly ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-600s}"
readonly EXIT_NO_PULL=3
readonly STANDIN_IMAGE="tfserving-standin:${TFS_STANDIN_TAG}"
readonly STANDIN_DRAIN_PROXY_IMAGE="local/haproxy:${HAPROXY_VERSION}"
readonly STANDIN_TEST_IMAGE="local/busybox:${LOCAL_BUSYBOX_TAG}"
# The offline node image's one name lives in hack/workarounds/no-registry/lib.sh (read in a subshell: that
# file also defines log and die).
OFFLINE_NODE_IMAGE="$(bash -c 'REPO_ROOT="$1"; source "$1/hack/workarounds/no-registry/lib.sh" && echo "${OFFLINE_KIND_NODE_IMAGE}"' _ "${REPO_ROOT}")"
readonly OFFLINE_NODE_IMAGE
SERVER="${SERVER:-auto}"
# Why the stand-in serves (the banner's second line).
STANDIN_WHY="SERVER=standin was asked for"
readonly PYTHON="${REPO_ROOT}/.venv/bin/python"
# shellcheck source=hack/lib/kind.sh
source "${REPO_ROOT}/hack/lib/kind.sh"
export PATH="${REPO_ROOT}/bin:${REPO_ROOT}/.venv/bin:${PATH}"


require_tools() {
  local tool
  for tool in kind helm kubectl; do
    command -v "${tool}" >/dev/null 2>&1 || case "${tool}" in
      kubectl) die "kubectl not found: install kubectl (any version within one minor of the cluster) and retry" ;;
      *) die "${tool} not found: run 'make tools'" ;;
    esac
  done
  [[ -x "${PYTHON}" ]] || die "${PYTHON} missing: run 'make deps'"
  # k8s/kind-config.yaml mounts exactly ./models into the node.
  [[ "${MODELS_DIR}" == models ]] \
    || die "MODELS_DIR=${MODELS_DIR}: the kind node only sees ./models (k8s/kind-config.yaml extraMounts)"
}

stop_no_pull() {
  local image="$1" why="$2"
  cat >&2 <<EOF
[demo] STOP: cannot pull ${image}: ${why}
[demo] SERVER=real runs the real ${SERVING_REPOSITORY} image on kind, so it needs Docker
[demo] with access to a container registry, and this machine has none.
[demo] Offline alternatives: 'make demo SERVER=standin' (the same kind path with the TF
[demo] Serving STAND-IN image built here) or 'make e2e' (every scenario, nothing pulled).
EOF
  exit "${EXIT_NO_PULL}"
}

# Pull IMAGE unless it is local; status 1 with the reason in PULL_ERROR when it cannot.
# The registry must answer within PULL_CHECK_SECONDS (docker prints "Pulling from"
# once it has the manifest); after that the download itself may take up to PULL_TIMEOUT.
try_pull() {
  local image="$1" out pid deadline
  if docker image inspect "${image}" >/dev/null 2>&1; then
    log "${image} is already local"
    return
  fi
  out="$(mktemp)"
  log "pulling ${image} (the registry must answer within ${PULL_CHECK_SECONDS}s)"
  timeout "${PULL_TIMEOUT}" docker pull "${image}" >"${out}" 2>&1 &
  pid=$!
  deadline=$((SECONDS + PULL_CHECK_SECONDS))
  while kill -0 "${pid}" 2>/dev/null && ! grep -qE 'Pulling from|Digest:|Status:' "${out}"; do
    if ((SECONDS >= deadline)); then
      kill "${pid}" 2>/dev/null || true
      wait "${pid}" 2>/dev/null || true
      rm -f "${out}"
      PULL_ERROR="no answer from the registry within ${PULL_CHECK_SECONDS}s"
      return 1
    fi
    sleep 0.5
  done
  if ! wait "${pid}"; then
    PULL_ERROR="$(grep -v '^\s*$' "${out}" | tail -n 1)"
    PULL_ERROR="${PULL_ERROR:-docker pull failed}"
    rm -f "${out}"
    return 1
  fi
  rm -f "${out}"
}

pull_or_stop() {
  try_pull "$1" || stop_no_pull "$1" "${PULL_ERROR}"
}

# Sets SERVER to real or standin (see the header).
choose_server() {
  local image
  case "${SERVER}" in
    real)
      for image in "${NODE_IMAGE}" "${SERVING_IMAGE}" "${DRAIN_PROXY_IMAGE}"; do
        pull_or_stop "${image}"
      done ;;
    standin) ;;
    auto)
      for image in "${NODE_IMAGE}" "${SERVING_IMAGE}" "${DRAIN_PROXY_IMAGE}"; do
        if ! try_pull "${image}"; then
          SERVER=standin
          STANDIN_WHY="cannot pull ${image}: ${PULL_ERROR}"
          return
        fi
      done
      SERVER=real ;;
    *) die "SERVER=${SERVER}: use auto, real or standin" ;;
  esac
}

standin_banner() {
  cat <<EOF
==========================================================================================
 SERVER: the TF Serving STAND-IN (${STANDIN_IMAGE}), NOT TensorFlow Serving.
 Why: ${STANDIN_WHY}.
 It speaks TF Serving's REST and gRPC APIs for tests and demos, built here with nothing
 pulled. For the real ${SERVING_IMAGE}: 'make demo SERVER=real' where a registry answers.
==========================================================================================
EOF
}

# The node image the cluster runs (local once the cluster exists).
node_image() {
  if [[ "${SERVER}" == standin ]]; then echo "${OFFLINE_NODE_IMAGE}"; else echo "${NODE_IMAGE}"; fi
}

cluster_exists() {
  grep -qx "${CLUSTER}" < <(kind get clusters 2>/dev/null)
}

# Creates or reuses the cluster; kind's docker calls go through the shim where the
# probe says so (one line), before kind first talks to a node.
ensure_cluster() {
  if cluster_exists; then
    use_docker_shim_if_needed "$(node_image)"
    log "reusing kind cluster '${CLUSTER}'"
    kind export kubeconfig --name "${CLUSTER}" >/dev/null 2>&1
    return
  fi
  [[ -f "${KIND_CONFIG}" ]] || die "${KIND_CONFIG} missing: the kind config ships with the repository"
  if [[ "${SERVER}" == standin ]]; then
    log "creating kind cluster '${CLUSTER}' from the offline node image (${OFFLINE_NODE_IMAGE})"
    # kind-up.sh builds the node image first; it probes quietly, this script says so.
    KIND_SHIM_QUIET=1 "${REPO_ROOT}/hack/make-rules/kind-up.sh" --config "${KIND_CONFIG}" "${CLUSTER}" >/dev/null
    use_docker_shim_if_needed "$(node_image)"
    return
  fi
  use_docker_shim_if_needed "$(node_image)"
  log "creating kind cluster '${CLUSTER}' (${NODE_IMAGE%%@*})"
  # kind resolves relative extraMounts host paths against the working directory.
  (cd "${REPO_ROOT}" && kind create cluster --name "${CLUSTER}" --config "${KIND_CONFIG}" \
    --image "${NODE_IMAGE}" --wait 180s)
}

# The stand-in's images, built locally (content-hashed: a rebuild is a no-op).
build_standin_images() {
  log "building the stand-in images (nothing pulled)"
  "${REPO_ROOT}/hack/build/standin-image.sh" >&2
  "${REPO_ROOT}/hack/workarounds/no-registry/build-drain-proxy-image.sh" >&2
}

has_model_version() {
  compgen -G "${REPO_ROOT}/${MODELS_DIR}/${MODEL_NAME}/[0-9]*/saved_model.pb" >/dev/null
}

ensure_model() {
  if has_model_version; then
    log "${MODELS_DIR}/${MODEL_NAME} already holds a version: not retraining"
    return
  fi
  log "no version under ${MODELS_DIR}/${MODEL_NAME}: exporting one (make export)"
  make --no-print-directory -C "${REPO_ROOT}" export MODELS_DIR="${MODELS_DIR}" MODEL_NAME="${MODEL_NAME}"
}

# The kind scenario: the ci/ values file that serves models from the node's hostPath
# (ci/04-kind-hostpath-values.yaml, matched by name so renumbering does not break it).
find_scenario() {
  if [[ -n "${DEMO_VALUES:-}" ]]; then
    [[ -f "${DEMO_VALUES}" ]] || die "DEMO_VALUES=${DEMO_VALUES} does not exist"
    echo "${DEMO_VALUES}"
    return
  fi
  local match
  match="$(compgen -G "${CHART_DIR}/ci/*hostpath*-values.yaml" | head -n 1 || true)"
  [[ -n "${match}" ]] || match="$(compgen -G "${CHART_DIR}/ci/*kind*-values.yaml" | head -n 1 || true)"
  [[ -n "${match}" ]] || die "no hostPath/kind scenario in ${CHART_DIR}/ci/: set DEMO_VALUES=<values file>"
  echo "${match}"
}

install_release() {
  local scenario="$1"
  local -a images extra=()
  if [[ "${SERVER}" == standin ]]; then
    images=("${STANDIN_IMAGE}" "${STANDIN_DRAIN_PROXY_IMAGE}" "${STANDIN_TEST_IMAGE}")
    # `helm test` (a next step) runs the chart's test pod from the local busybox too.
    extra=(--set "testFramework.image.repository=${STANDIN_TEST_IMAGE%%:*}"
      --set-string "testFramework.image.tag=${STANDIN_TEST_IMAGE#*:}")
  else
    images=("${SERVING_IMAGE}" "${DRAIN_PROXY_IMAGE}")
  fi
  log "loading ${images[*]} into the cluster"
  kind load docker-image --name "${CLUSTER}" "${images[@]}" >&2
  log "helm upgrade --install ${RELEASE} with $(basename "${scenario}") and ${images[0]}"
  helm upgrade --install "${RELEASE}" "${CHART_DIR}" \
    --kube-context "${CONTEXT}" --namespace "${NAMESPACE}" --create-namespace \
    --values "${scenario}" \
    --set "image.repository=${images[0]%%:*}" --set "image.tag=${images[0]#*:}" \
    --set "drainProxy.image.repository=${images[1]%%:*}" \
    --set-string "drainProxy.image.tag=${images[1]#*:}" \
    "${extra[@]}" \
    --set "model.name=${MODEL_NAME}" \
    --wait --timeout "${ROLLOUT_TIMEOUT}" >&2
}

wait_for_rollout() {
  local deployments deployment
  deployments="$(kubectl --context "${CONTEXT}" --namespace "${NAMESPACE}" get deployments \
    --selector "app.kubernetes.io/instance=${RELEASE}" --output name)"
  [[ -n "${deployments}" ]] || die "release ${RELEASE} has no Deployment in namespace ${NAMESPACE}"
  for deployment in ${deployments}; do
    kubectl --context "${CONTEXT}" --namespace "${NAMESPACE}" rollout status "${deployment}" \
      --timeout "${ROLLOUT_TIMEOUT}" >&2
  done
}

run_smoke_test() {
  log "smoke test through kubectl port-forward"
  (cd "${REPO_ROOT}" && "${PYTHON}" -m smoke_tests --release "${RELEASE}" \
    --namespace "${NAMESPACE}" --context "${CONTEXT}" --model-name "${MODEL_NAME}" \
    --model-base-path "${MODELS_DIR}/${MODEL_NAME}" --wait-ready 120)
}

print_next_steps() {
  local service served
  service="$(kubectl --context "${CONTEXT}" --namespace "${NAMESPACE}" get services \
    --selector "app.kubernetes.io/instance=${RELEASE}" --output name | head -n 1)"
  if [[ "${SERVER}" == standin ]]; then
    standin_banner
    served="The TF Serving STAND-IN (not TensorFlow Serving)"
  else
    served="TensorFlow Serving ${TF_SERVING_VERSION}"
  fi
  cat <<EOF

${served} is serving '${MODEL_NAME}' on kind cluster '${CLUSTER}'.
Next steps:
  1. curl http://127.0.0.1:8501/v1/models/${MODEL_NAME}
     (kind maps the Service's NodePorts to 127.0.0.1:8501 REST and :8500 gRPC; or use
      kubectl --context ${CONTEXT} -n ${NAMESPACE} port-forward ${service:-svc/${RELEASE}} 18501:8501)
  2. tfs-load run --help   # load test: latency percentiles, error counts, SLO gate;
     add --in-cluster ${NAMESPACE} --target http://${RELEASE}.${NAMESPACE}.svc:8501 to run it as a Job
  3. make export        # publish the next version into ${MODELS_DIR}/${MODEL_NAME}; served within ~30 s
  4. helm test ${RELEASE} --kube-context ${CONTEXT} -n ${NAMESPACE} --logs
  5. make down          # delete the cluster
EOF
}

main() {
  "${REPO_ROOT}/hack/make-rules/dockerd-up.sh"
  require_tools
  local scenario
  scenario="$(find_scenario)"
  choose_server
  if [[ "${SERVER}" == standin ]]; then
    standin_banner >&2
    build_standin_images
  fi
  ensure_model
  ensure_cluster
  install_release "${scenario}"
  wait_for_rollout
  run_smoke_test
  print_next_steps
}

main "$@"
