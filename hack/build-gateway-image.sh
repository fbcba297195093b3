#!/usr/bin/env bash
# Build the gateway image tfserving-gateway:${GATEWAY_TAG} locally, no registry pull.
#
# Base: the local tfserving-standin image (hack/build-standin-image.sh), used only
# for its Python venv. FastAPI, uvicorn, python-multipart and Pillow are installed
# on the host with `pip install --target` for the image's CPython 3.11 (manylinux
# wheels) and copied in with the gateway/ and smoke_tests/ packages. An image whose
# content-hash label matches is not rebuilt.
#
# Usage: hack/build-gateway-image.sh [--force]
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "${REPO_ROOT}/hack/versions.env"

readonly IMAGE="tfserving-gateway:${GATEWAY_TAG}"
readonly BASE_IMAGE="tfserving-standin:${TFS_STANDIN_TAG}"
readonly RECIPE_DIR="${REPO_ROOT}/images/tfserving-gateway"
readonly HASH_LABEL="io.tf-serving-k8s.content-hash"
# Web-stack distributions (versions from pyproject.toml) the base venv lacks.
readonly WEB_DEPS=(fastapi uvicorn python-multipart pillow)
ctx=""

log() { echo "[gateway-image] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

requirements() {
  python3 - "${REPO_ROOT}/pyproject.toml" "${WEB_DEPS[@]}" <<'PY'
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

content_key() {
  {
    echo "tag=${GATEWAY_TAG} base=$(docker image inspect --format '{{.Id}}' "${BASE_IMAGE}")"
    requirements
    cd "${REPO_ROOT}"
    find images/tfserving-gateway gateway smoke_tests -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

main() {
  local force=false content pip=(python3 -m pip)
  [[ "${1:-}" == --force ]] && force=true
  "${REPO_ROOT}/hack/dockerd-up.sh" >/dev/null
  "${REPO_ROOT}/hack/build-standin-image.sh"
  content="$(content_key)"
  if [[ "${force}" != true ]] &&
    [[ "$(docker image inspect --format "{{ index .Config.Labels \"${HASH_LABEL}\" }}" "${IMAGE}" 2>/dev/null || true)" == "${content}" ]]; then
    log "${IMAGE} is up to date (content ${content})"
    return
  fi
  ctx="$(mktemp -d)"
  trap 'rm -rf "${ctx}"' EXIT
  [[ -x "${REPO_ROOT}/.venv/bin/python" ]] && pip=("${REPO_ROOT}/.venv/bin/python" -m pip)
  log "installing ${WEB_DEPS[*]} for CPython 3.11 into the build context"
  requirements >"${ctx}/requirements.txt"
  "${pip[@]}" install --quiet --target "${ctx}/site" --only-binary=:all: \
    --implementation cp --python-version 3.11 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    -r "${ctx}/requirements.txt" ||
    die "pip could not fetch the gateway's wheels; check access to the Python package index"
  rm -rf "${ctx}/site/bin"
  cp "${RECIPE_DIR}/Dockerfile" "${ctx}/"
  (cd "${REPO_ROOT}" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - gateway smoke_tests) |
    tar -C "${ctx}" -xf -
  log "building ${IMAGE} on ${BASE_IMAGE} (content ${content})"
  DOCKER_BUILDKIT=0 docker build --quiet \
    --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --build-arg "CONTENT_HASH=${content}" \
    --build-arg "GATEWAY_TAG=${GATEWAY_TAG}" \
    --tag "${IMAGE}" "${ctx}" >/dev/null
  log "built ${IMAGE} in ${SECONDS} s"
}

main "$@"
