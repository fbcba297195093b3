#!/usr/bin/env bash
# Run pytest from the venv. Exit 5 (no tests collected) is a failure, not a pass.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "${REPO_ROOT}"
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [[ ${status} -eq 5 ]]; then
  echo "pytest collected no tests: treat as a failure (check testpaths and markers)" >&2
fi
exit "${status}"
