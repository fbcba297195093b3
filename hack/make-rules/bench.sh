#!/usr/bin/env bash
# Benchmark tfs-load (default --engine go) against a known-latency loopback server
# (tfs-load-engine loopback, from make tools), wrk (REST) and ghz (gRPC).
# Installs Debian's wrk (apt-get) and the pinned ghz (go install) when missing.
# Not part of `make test`: it prints measured ratios, it does not gate.
set -o errexit -o nounset -o pipefail
LOG_TAG="bench"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly GHZ_BIN="${REPO_ROOT}/bin/ghz"
readonly PYTHON="${REPO_ROOT}/.venv/bin/python"

ensure_wrk() {
  if command -v wrk >/dev/null 2>&1; then
    return
  fi
  log "installing wrk with apt-get"
  local sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
  ${sudo} apt-get install -y wrk >&2
}

ensure_ghz() {
  local stamp="${REPO_ROOT}/bin/.ghz-${GHZ_VERSION}"
  if [[ -x "${GHZ_BIN}" && -f "${stamp}" ]]; then
    return
  fi
  log "installing ghz ${GHZ_VERSION} with go install"
  mkdir -p "${REPO_ROOT}/bin"
  GOBIN="${REPO_ROOT}/bin" go install "github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}"
  touch "${stamp}"
}

run_bench() {
  cd "${REPO_ROOT}"
  "${PYTHON}" -m loadtest_bench --wrk "$(command -v wrk)" --ghz "${GHZ_BIN}" "$@"
}

main() {
  ensure_wrk
  ensure_ghz
  run_bench "$@"
}

main "$@"
