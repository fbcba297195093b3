#!/usr/bin/env bash
# Build the project's application images from images/<app>/Dockerfile:
#   tfserving-gateway:${GATEWAY_TAG}            gateway/ (FastAPI, uvicorn, Pillow)
#   tf-serving-model-fetch:${MODEL_FETCH_TAG}   model_fetch/ (boto3), the chart's init container
#   tf-serving-client-tools:${CLIENT_TOOLS_TAG} loadtest/ + smoke_tests/, `tfs-load run --in-cluster`
#
# Base: APP_BASE_IMAGE (hack/versions.env, the public slim Python image; the Dockerfiles'
# default) when it is present or can be pulled. Where no image can be pulled, the offline
# `client` base instead (hack/workarounds/no-registry/build-python-base.sh: a Debian venv
# with what `pip install .` installs, no TensorFlow). Set APP_BASE_IMAGE to choose another.
# Each image copies pyproject.toml, README.md and its packages (with tfserving_contract,
# which they import). An image whose content-hash label matches is not rebuilt.
#
# Usage: hack/build/app-images.sh [--force]
set -o errexit -o nounset -o pipefail
LOG_TAG="app-images"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=hack/lib/images.sh
source "${REPO_ROOT}/hack/lib/images.sh"

BASE_IMAGE=""
CTX=""

cleanup() { [[ -z "${CTX}" ]] || rm -rf "${CTX}"; }

# choose_base: APP_BASE_IMAGE when present or pullable, else the offline client base.
choose_base() {
  if docker image inspect "${APP_BASE_IMAGE}" >/dev/null 2>&1 ||
    docker pull --quiet "${APP_BASE_IMAGE}" >/dev/null 2>&1; then
    echo "${APP_BASE_IMAGE}"
    return
  fi
  log "${APP_BASE_IMAGE} cannot be pulled here: building on the offline client base"
  "${REPO_ROOT}/hack/workarounds/no-registry/build-python-base.sh" client
}

# build_image IMAGE RECIPE_DIR PACKAGE...
build_image() {
  local image="$1" recipe="$2" content
  shift 2
  set -- pyproject.toml README.md "$@" tfserving_contract
  content="$(
    {
      echo "image=${image} base=$(docker image inspect --format '{{.Id}}' "${BASE_IMAGE}")"
      cd "${REPO_ROOT}"
      find "${recipe#"${REPO_ROOT}"/}" "$@" -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
  )"
  if [[ "${FORCE}" != true && "$(image_content_hash "${image}")" == "${content}" ]]; then
    log "${image} is up to date (content ${content})"
    return
  fi
  CTX="$(mktemp -d)"
  cp "${recipe}/Dockerfile" "${CTX}/"
  (cd "${REPO_ROOT}" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - "$@") |
    tar -C "${CTX}" -xf -
  log "building ${image} on ${BASE_IMAGE} (content ${content})"
  build_local_image "${image}" "${CTX}" \
    --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --build-arg "CONTENT_HASH=${content}" \
    --build-arg "APP_TAG=${image##*:}"
  cleanup
  CTX=""
}

main() {
  FORCE=false
  [[ "${1:-}" == --force ]] && FORCE=true
  trap cleanup EXIT
  "${REPO_ROOT}/hack/make-rules/dockerd-up.sh" >/dev/null
  BASE_IMAGE="$(choose_base)"
  build_image "tfserving-gateway:${GATEWAY_TAG}" "${REPO_ROOT}/images/tfserving-gateway" gateway
  build_image "tf-serving-model-fetch:${MODEL_FETCH_TAG}" "${REPO_ROOT}/images/model-fetch" \
    model_fetch
  build_image "tf-serving-client-tools:${CLIENT_TOOLS_TAG}" "${REPO_ROOT}/images/client-tools" \
    loadtest smoke_tests
  log "done in ${SECONDS} s"
}

main "$@"
