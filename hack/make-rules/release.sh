#!/usr/bin/env bash
# Publish a release to an OCI registry: the chart (`helm package` + `helm push` to
# oci://REGISTRY/charts) and the locally built app images (gateway, model fetch) as
# REGISTRY/<name>:<tag>. The tag-triggered GitHub workflow (.github/workflows/release.yaml)
# runs it against ghcr.io; tests/demo/test_release_oci.py against the loopback registry of
# hack/make-rules/local-registry.sh. Images must exist locally (hack/build/app-images.sh); EXTRA_IMAGES
# (space-separated local names) are pushed too. Prints the chart's oci:// reference last.
#
# Usage: hack/make-rules/release.sh REGISTRY   (e.g. localhost:5001 or ghcr.io/OWNER; log in first)
set -o errexit -o nounset -o pipefail
LOG_TAG="release"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly HELM="${HELM:-${REPO_ROOT}/bin/helm}"
readonly CHART_DIR="${REPO_ROOT}/charts/tf-serving"
readonly OUT_DIR="${REPO_ROOT}/out/release"
readonly APP_IMAGES=(
  "tfserving-gateway:${GATEWAY_TAG}"
  "tf-serving-model-fetch:${MODEL_FETCH_TAG}"
)


main() {
  local registry="${1:-}"
  [[ -n "${registry}" ]] || die "usage: $0 REGISTRY (e.g. localhost:5001 or ghcr.io/OWNER)"
  registry="${registry%/}"
  # Loopback registries speak plain HTTP (hack/make-rules/local-registry.sh); every other one TLS.
  local plain=()
  [[ "${registry}" =~ ^(localhost|127\.0\.0\.1)(:[0-9]+)?(/|$) ]] && plain=(--plain-http)

  local image extra=()
  read -r -a extra <<<"${EXTRA_IMAGES:-}"
  for image in "${APP_IMAGES[@]}" "${extra[@]}"; do
    docker image inspect "${image}" >/dev/null 2>&1 ||
      die "image ${image} is not built here: run \`make app-images\` (or build it) first"
  done

  rm -rf "${OUT_DIR}"
  mkdir -p "${OUT_DIR}"
  "${HELM}" package "${CHART_DIR}" --destination "${OUT_DIR}" >/dev/null
  local package
  package="$(find "${OUT_DIR}" -name 'tf-serving-*.tgz')"
  log "helm push ${package#"${REPO_ROOT}"/} oci://${registry}/charts"
  "${HELM}" push "${package}" "oci://${registry}/charts" "${plain[@]}" >&2

  for image in "${APP_IMAGES[@]}" "${extra[@]}"; do
    log "docker push ${registry}/${image}"
    docker tag "${image}" "${registry}/${image}"
    docker push --quiet "${registry}/${image}" >&2
  done
  echo "oci://${registry}/charts/tf-serving"
}

main "$@"
