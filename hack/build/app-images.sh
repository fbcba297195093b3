#!/usr/bin/env bash
# Build the project's application images locally, no registry pull:
#   tfserving-gateway:${GATEWAY_TAG}            gateway/ (FastAPI, uvicorn, Pillow)
#   tf-serving-model-fetch:${MODEL_FETCH_TAG}   model_fetch/ (boto3), the chart's init container
#   tf-serving-client-tools:${CLIENT_TOOLS_TAG} loadtest/ + smoke_tests/, `tfs-load run --in-cluster`
#
# Base: the `client` Python base (hack/workarounds/no-registry/build-python-base.sh): a Debian venv with what
# `pip install .` installs, the client tools' distributions without TensorFlow. Each
# image adds its packages (and tfserving_contract, which they import) on top. An
# image whose content-hash label matches is not rebuilt.
#
# Usage: hack/build/app-images.sh [--force]
set -o errexit -o nounset -o pipefail
LOG_TAG="app-images"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

BASE_IMAGE=""
readonly HASH_LABEL="io.tf-serving-k8s.content-hash"
CTX=""

cleanup() { [[ -z "${CTX}" ]] || rm -rf "${CTX}"; }

# build_image IMAGE RECIPE_DIR PACKAGE...
build_image() {
  local image="$1" recipe="$2" content
  shift 2
  content="$(
    {
      echo "image=${image} base=$(docker image inspect --format '{{.Id}}' "${BASE_IMAGE}")"
      cd "${REPO_ROOT}"
      find "${recipe#"${REPO_ROOT}"/}" "$@" -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
  )"
  if [[ "${FORCE}" != true ]] &&
    [[ "$(docker image inspect --format "{{ index .Config.Labels \"${HASH_LABEL}\" }}" "${image}" 2>/dev/null || true)" == "${content}" ]]; then
    log "${image} is up to date (content ${content})"
    return
  fi
  CTX="$(mktemp -d)"
  cp "${recipe}/Dockerfile" "${CTX}/"
  (cd "${REPO_ROOT}" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - "$@") |
    tar -C "${CTX}" -xf -
  log "building ${image} on ${BASE_IMAGE} (content ${content})"
  DOCKER_BUILDKIT=0 docker build --quiet \
    --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --build-arg "CONTENT_HASH=${content}" \
    --build-arg "APP_TAG=${image##*:}" \
    --tag "${image}" "${CTX}" >/dev/null
  cleanup
  CTX=""
}

main() {
  FORCE=false
  [[ "${1:-}" == --force ]] && FORCE=true
  trap cleanup EXIT
  "${REPO_ROOT}/hack/make-rules/dockerd-up.sh" >/dev/null
  BASE_IMAGE="$("${REPO_ROOT}/hack/workarounds/no-registry/build-python-base.sh" client)"
  build_image "tfserving-gateway:${GATEWAY_TAG}" "${REPO_ROOT}/images/tfserving-gateway" \
    gateway tfserving_contract
  build_image "tf-serving-model-fetch:${MODEL_FETCH_TAG}" "${REPO_ROOT}/images/model-fetch" \
    model_fetch tfserving_contract
  build_image "tf-serving-client-tools:${CLIENT_TOOLS_TAG}" "${REPO_ROOT}/images/client-tools" \
    loadtest smoke_tests tfserving_contract
  log "done in ${SECONDS} s"
}

main "$@"
