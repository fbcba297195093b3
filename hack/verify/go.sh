#!/usr/bin/env bash
# Go lint for tfs-load's engine (loadengine/): gofmt, go vet, and go.mod tidy.
# Without Go there is nothing to lint (the engine is not built either).
set -o errexit -o nounset -o pipefail
LOG_TAG="go-lint"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

main() {
  if ! command -v go >/dev/null 2>&1; then
    log "no Go: skipping loadengine/ lint"
    return
  fi
  cd "${REPO_ROOT}/loadengine"
  local unformatted
  unformatted="$(gofmt -l .)"
  if [[ -n "${unformatted}" ]]; then
    die "not gofmt-formatted (run gofmt -w loadengine): ${unformatted}"
  fi
  go vet ./...
  go mod tidy -diff >/dev/null || die "loadengine/go.mod is not tidy: run (cd loadengine && go mod tidy)"
}

main "$@"
