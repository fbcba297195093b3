#!/usr/bin/env bash
# Regenerate the generated files and fail when they differ from what is
# committed (`make verify`): the chart README values table, k8s/manifests and the
# TF Serving API descriptor set the client tools load.
set -o errexit -o nounset -o pipefail
LOG_TAG="verify-generated"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "${REPO_ROOT}"


# check_clean PATH FIX: fail naming FIX when PATH differs from the committed copy.
check_clean() {
  local path="$1" fix="$2"
  if [[ -n "$(git status --porcelain -- "${path}")" ]]; then
    git --no-pager diff -- "${path}" >&2 || true
    log "${path} out of date: run \`${fix}\` and commit the result"
    return 1
  fi
}

main() {
  local status=0
  hack/update/render-docs.sh
  check_clean charts/tf-serving/README.md "make docs" || status=1
  hack/update/render-manifests.sh
  check_clean k8s/manifests "make manifests" || status=1
  python3 hack/update/tf_serving_protos.py
  check_clean tfserving_contract/tf_serving_apis.binpb "make protos" || status=1
  [[ ${status} -eq 0 ]] && log "generated files are up to date"
  return "${status}"
}

main "$@"
