#!/usr/bin/env bash
# The user path, `make demo`, on a machine with Docker and internet access:
# kind cluster from k8s/kind-config.yaml (pinned node image) -> fashion-MNIST
# export into models/ -> helm upgrade --install with the kind/hostPath scenario
# and the real tensorflow/serving image -> rollout -> smoke test -> next steps.
# Idempotent: an existing cluster and release are reused. `make down` deletes it.
# Where no image can be pulled it stops within PULL_CHECK_SECONDS and points to
# the offline path (`make e2e`) instead of hanging.
#
# Usage: hack/demo.sh [CLUSTER] [RELEASE]
# Env:   NAMESPACE, MODELS_DIR, MODEL_NAME, DEMO_VALUES (scenario file),
#        PULL_CHECK_SECONDS (default 20), PULL_TIMEOUT (default 900),
#        ROLLOUT_TIMEOUT (default 600s), KIND_NODE_IMAGE
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly NODE_IMAGE_OVERRIDE="${KIND_NODE_IMAGE:-}"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "${REPO_ROOT}/hack/versions.env"

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
readonly PULL_CHECK_SECONDS="${PULL_CHECK_SECONDS:-20}"
readonly PULL_TIMEOUT="${PULL_TIMEOUT:-900}"
readonly ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-600s}"
readonly EXIT_NO_PULL=3
readonly PYTHON="${REPO_ROOT}/.venv/bin/python"
export PATH="${REPO_ROOT}/bin:${REPO_ROOT}/.venv/bin:${PATH}"

log() { echo "[demo] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

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
[demo] 'make demo' runs the real ${SERVING_REPOSITORY} image on kind, so it needs Docker
[demo] with access to a container registry, and this machine has none.
[demo] Offline alternative: 'make e2e' builds the cluster, the images (a TF Serving
[demo] STAND-IN, tests only) and everything else locally with no pulls.
EOF
  exit "${EXIT_NO_PULL}"
}

# Pull IMAGE unless it is local. The registry must answer within
# PULL_CHECK_SECONDS (docker prints "Pulling from" once it has the manifest);
# after that the download itself may take up to PULL_TIMEOUT.
pull_or_stop() {
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
      stop_no_pull "${image}" "no answer from the registry within ${PULL_CHECK_SECONDS}s"
    fi
    sleep 0.5
  done
  if ! wait "${pid}"; then
    local why
    why="$(grep -v '^\s*$' "${out}" | tail -n 1)"
    rm -f "${out}"
    stop_no_pull "${image}" "${why:-docker pull failed}"
  fi
  rm -f "${out}"
}

cluster_exists() {
  grep -qx "${CLUSTER}" < <(kind get clusters 2>/dev/null)
}

ensure_cluster() {
  if cluster_exists; then
    log "reusing kind cluster '${CLUSTER}'"
    kind export kubeconfig --name "${CLUSTER}" >/dev/null 2>&1
    return
  fi
  [[ -f "${KIND_CONFIG}" ]] || die "${KIND_CONFIG} missing: the kind config ships with the repository"
  log "creating kind cluster '${CLUSTER}' (${NODE_IMAGE%%@*})"
  # kind resolves relative extraMounts host paths against the working directory.
  (cd "${REPO_ROOT}" && kind create cluster --name "${CLUSTER}" --config "${KIND_CONFIG}" \
    --image "${NODE_IMAGE}" --wait 180s)
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
  log "loading ${SERVING_IMAGE} and ${DRAIN_PROXY_IMAGE} into the cluster"
  kind load docker-image --name "${CLUSTER}" "${SERVING_IMAGE}" "${DRAIN_PROXY_IMAGE}" >&2
  log "helm upgrade --install ${RELEASE} with $(basename "${scenario}") and ${SERVING_IMAGE}"
  helm upgrade --install "${RELEASE}" "${CHART_DIR}" \
    --kube-context "${CONTEXT}" --namespace "${NAMESPACE}" --create-namespace \
    --values "${scenario}" \
    --set "image.repository=${SERVING_REPOSITORY}" --set "image.tag=${TF_SERVING_VERSION}" \
    --set "drainProxy.image.repository=${DRAIN_PROXY_IMAGE%%:*}" \
    --set-string "drainProxy.image.tag=${HAPROXY_VERSION}" \
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
    --namespace "${NAMESPACE}" --context "${CONTEXT}" --model "${MODEL_NAME}" \
    --base-path "${MODELS_DIR}/${MODEL_NAME}" --wait-ready 120)
}

print_next_steps() {
  local service
  service="$(kubectl --context "${CONTEXT}" --namespace "${NAMESPACE}" get services \
    --selector "app.kubernetes.io/instance=${RELEASE}" --output name | head -n 1)"
  cat <<EOF

TensorFlow Serving ${TF_SERVING_VERSION} is serving '${MODEL_NAME}' on kind cluster '${CLUSTER}'.
Next steps:
  1. curl http://127.0.0.1:8501/v1/models/${MODEL_NAME}
     (kind maps the Service's NodePorts to 127.0.0.1:8501 REST and :8500 gRPC; or use
      kubectl --context ${CONTEXT} -n ${NAMESPACE} port-forward ${service:-svc/${RELEASE}} 18501:8501)
  2. tfs-load run --help   # load test: latency percentiles, error counts, SLO gate
  3. make export        # publish the next version into ${MODELS_DIR}/${MODEL_NAME}; served within ~30 s
  4. helm test ${RELEASE} --kube-context ${CONTEXT} -n ${NAMESPACE} --logs
  5. make down          # delete the cluster
EOF
}

main() {
  "${REPO_ROOT}/hack/dockerd-up.sh"
  pull_or_stop "${NODE_IMAGE}"
  pull_or_stop "${SERVING_IMAGE}"
  pull_or_stop "${DRAIN_PROXY_IMAGE}"
  require_tools
  local scenario
  scenario="$(find_scenario)"
  ensure_model
  ensure_cluster
  install_release "${scenario}"
  wait_for_rollout
  run_smoke_test
  print_next_steps
}

main "$@"
