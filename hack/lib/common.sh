#!/usr/bin/env bash
# The one shared library of hack/ scripts (sourced, not run): REPO_ROOT, the pinned
# versions of hack/versions.env, and log/die tagged with the script's LOG_TAG.
#
# Usage (first lines of a script, after `set -o errexit -o nounset -o pipefail`):
#   LOG_TAG=demo
#   # shellcheck source=hack/lib/common.sh
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# shellcheck disable=SC2034  # REPO_ROOT and the versions are used by the sourcing script
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# shellcheck source=hack/versions.env
source "${REPO_ROOT}/hack/versions.env"

# log MESSAGE...: one line on stderr, tagged [LOG_TAG] (default: the script's name).
log() { echo "[${LOG_TAG:-$(basename "$0" .sh)}] $*" >&2; }

# die MESSAGE...: log an error and exit 1.
die() {
  log "ERROR: $*"
  exit 1
}
