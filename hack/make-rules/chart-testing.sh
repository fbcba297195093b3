#!/usr/bin/env bash
# What helm's chart-testing (`ct lint-and-install --upgrade`) does, in our own script: ct is
# not built here, so each of its checks is one step (the GitHub workflow runs ct itself).
#   version  the chart's version names its content: unchanged since the commit that set
#            it, or a higher SemVer (hack/verify/chart_releases.py check; `make verify` runs it)
#   lint     helm lint --strict of every ci/*-values.yaml, yamllint of the chart
#   install  every ci/ scenario the cluster can run: install, helm test, smoke, load
#   upgrade  the previous release (last commit that changed `version`) installed, then
#            upgraded to the working tree's chart under constant load: 0 failed requests
#   all      every step (default)
# install and upgrade need make e2e's kind cluster with its images (`E2E_KEEP_CLUSTER=1
# make e2e` leaves it up); `make e2e` runs both as part of tests/e2e.
# Usage: hack/make-rules/chart-testing.sh [all|version|lint|install|upgrade]
set -o errexit -o nounset -o pipefail
LOG_TAG="chart-testing"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly CHART_DIR="${REPO_ROOT}/charts/tf-serving"
readonly PYTHON="${PYTHON:-${REPO_ROOT}/.venv/bin/python}"
declare -rA CLUSTER_TESTS=(
  [install]=tests/e2e/test_scenarios_standin.py
  [upgrade]=tests/e2e/test_chart_upgrade_standin.py
)


version_step() { "${PYTHON}" "${REPO_ROOT}/hack/verify/chart_releases.py" check; }

lint_step() {
  "${REPO_ROOT}/hack/verify/chart.sh" lint
  "${REPO_ROOT}/.venv/bin/yamllint" --strict "${CHART_DIR}/Chart.yaml" \
    "${CHART_DIR}/values.yaml" "${CHART_DIR}/ci"
}

# cluster_steps TEST_FILE...: pytest -m kind on the e2e kind cluster (fails, saying how
# to start it, when it is down).
cluster_steps() {
  E2E_REQUIRE_CLUSTER=1 "${REPO_ROOT}/hack/make-rules/run-pytest.sh" -m kind -p no:cacheprovider -rs "$@"
}

main() {
  local step="${1:-all}"
  case "${step}" in
    version) version_step ;;
    lint) lint_step ;;
    install | upgrade) cluster_steps "${CLUSTER_TESTS[${step}]}" ;;
    all)
      version_step
      lint_step
      cluster_steps "${CLUSTER_TESTS[install]}" "${CLUSTER_TESTS[upgrade]}" ;;
    *) die "unknown step ${step}; use all, version, lint, install or upgrade" ;;
  esac
  log "${step}: OK"
}

main "$@"
