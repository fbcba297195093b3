#!/usr/bin/env bash
# Lint every shell script in the repository (`make lint`): shellcheck, plus two rules it
# has no check for: a script is executable, and a bash script runs with errexit, nounset
# and pipefail. Sourced libraries (hack/lib/, */lib.sh) are only shellchecked; the chart's
# embedded scripts are checked with the shell that runs them.
#
# Usage: hack/verify/shell.sh
set -o errexit -o nounset -o pipefail
LOG_TAG="shell-lint"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

readonly STRICT="set -o errexit -o nounset -o pipefail"

main() {
  cd "${REPO_ROOT}"
  local status=0 script
  local -a scripts
  mapfile -t scripts < <(git ls-files -- '*.sh' .ci/run hack/workarounds/no-cap-sys-resource/docker \
    images/tfserving-standin/tensorflow_model_server | grep -v '^charts/')
  shellcheck --external-sources "${scripts[@]}" || status=1
  shellcheck --shell=sh charts/tf-serving/files/check-model-layout.sh || status=1
  shellcheck --shell=bash charts/tf-serving/files/readiness-probe.sh || status=1
  for script in "${scripts[@]}"; do
    [[ "${script}" == hack/lib/* || "${script}" == */lib.sh ]] && continue
    [[ -x "${script}" ]] || { log "${script} is not executable: chmod +x ${script}"; status=1; }
    if [[ "$(head -1 "${script}")" == "#!/usr/bin/env bash" ]] && ! grep -qxF "${STRICT}" "${script}"; then
      log "${script} lacks the line '${STRICT}'"
      status=1
    fi
  done
  ((status == 0)) && log "${#scripts[@]} scripts OK"
  return "${status}"
}

main "$@"
