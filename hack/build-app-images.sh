#!/usr/bin/env bash
# Build the project's application images locally, no registry pull:
#   tfserving-gateway:${GATEWAY_TAG}           gateway/ (FastAPI, uvicorn, Pillow)
#   tf-serving-model-fetch:${MODEL_FETCH_TAG}  model_fetch/ (boto3), the chart's init container
#   tf-serving-client-tools:${CLIENT_TOOLS_TAG} loadtest/ + smoke_tests/, `tfs-load run --in-cluster`
#
# Base: the local tfserving-standin image (hack/build-standin-image.sh), used only
# for its Python venv (grpcio, numpy, serving API protos). Each image's extra
# distributions are installed on the host with `pip install --target` for the
# image's CPython 3.11 (manylinux wheels) and copied in with its packages. An image
# whose content-hash label matches is not rebuilt.
#
# Usage: hack/build-app-images.sh [--force]
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "${REPO_ROOT}/hack/versions.env"

readonly BASE_IMAGE="tfserving-standin:${TFS_STANDIN_TAG}"
readonly HASH_LABEL="io.tf-serving-k8s.content-hash"
CTX=""

log() { echo "[app-images] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
cleanup() { [[ -z "${CTX}" ]] || rm -rf "${CTX}"; }

# Version specifiers of the named distributions, from pyproject.toml.
requirements() {
  python3 - "${REPO_ROOT}/pyproject.toml" "$@" <<'PY'
import re
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
by_name = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower(): d for d in deps}
missing = [w for w in sys.argv[2:] if w not in by_name]
if missing:
    sys.exit(f"pyproject.toml does not declare {missing}")
print("\n".join(by_name[w] for w in sys.argv[2:]))
PY
}

# build_image IMAGE RECIPE_DIR "PACKAGES" DISTRIBUTION...
build_image() {
  local image="$1" recipe="$2" packages="$3" content pip=(python3 -m pip)
  shift 3
  local -a package_dirs
  read -r -a package_dirs <<<"${packages}"
  content="$(
    {
      echo "image=${image} base=$(docker image inspect --format '{{.Id}}' "${BASE_IMAGE}")"
      requirements "$@"
      cd "${REPO_ROOT}"
      find "${recipe#"${REPO_ROOT}"/}" "${package_dirs[@]}" -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
  )"
  if [[ "${FORCE}" != true ]] &&
    [[ "$(docker image inspect --format "{{ index .Config.Labels \"${HASH_LABEL}\" }}" "${image}" 2>/dev/null || true)" == "${content}" ]]; then
    log "${image} is up to date (content ${content})"
    return
  fi
  CTX="$(mktemp -d)"
  [[ -x "${REPO_ROOT}/.venv/bin/python" ]] && pip=("${REPO_ROOT}/.venv/bin/python" -m pip)
  log "installing $* for CPython 3.11 into the build context of ${image}"
  requirements "$@" >"${CTX}/requirements.txt"
  "${pip[@]}" install --quiet --target "${CTX}/site" --only-binary=:all: \
    --implementation cp --python-version 3.11 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    -r "${CTX}/requirements.txt" ||
    die "pip could not fetch the wheels for ${image}; check access to the Python package index"
  rm -rf "${CTX}/site/bin"
  cp "${recipe}/Dockerfile" "${CTX}/"
  (cd "${REPO_ROOT}" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - "${package_dirs[@]}") |
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
  "${REPO_ROOT}/hack/dockerd-up.sh" >/dev/null
  "${REPO_ROOT}/hack/build-standin-image.sh"
  build_image "tfserving-gateway:${GATEWAY_TAG}" "${REPO_ROOT}/images/tfserving-gateway" \
    "gateway smoke_tests" fastapi uvicorn python-multipart pillow
  build_image "tf-serving-model-fetch:${MODEL_FETCH_TAG}" "${REPO_ROOT}/images/model-fetch" \
    "model_fetch" boto3
  build_image "tf-serving-client-tools:${CLIENT_TOOLS_TAG}" "${REPO_ROOT}/images/client-tools" \
    "loadtest smoke_tests" hdrhistogram rich uvloop matplotlib
  log "done in ${SECONDS} s"
}

main "$@"
