#!/usr/bin/env bash
# Static verification of charts/tf-serving with the pinned tools, for every
# ci/ scenario (or the scenarios given):
#   lint         helm lint --strict
#   template     helm template (renders kept under out/chart/)
#   kubeconform  strict schema validation on the oldest and newest supported
#                Kubernetes minors, offline (schemas from kubernetes-validate)
#   checkov      policy scan of all renders, skips in charts/tf-serving/.checkov.yaml
#   all          every step above (default; `make chart-lint`)
# Usage: hack/verify/chart.sh [all|lint|template|kubeconform|checkov] [ci/NN-x-values.yaml...]
set -o errexit -o nounset -o pipefail
LOG_TAG="verify-chart"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly CHART_DIR="${REPO_ROOT}/charts/tf-serving"
readonly OUT_DIR="${REPO_ROOT}/out/chart"
readonly SCHEMA_CACHE="${REPO_ROOT}/.cache/kube-schemas"
readonly HELM="${HELM:-${REPO_ROOT}/bin/helm}"
readonly KUBECONFORM="${KUBECONFORM:-${REPO_ROOT}/bin/kubeconform}"
readonly PYTHON="${PYTHON:-${REPO_ROOT}/.venv/bin/python}"
readonly CHECKOV="${CHECKOV:-${REPO_ROOT}/bin/checkov}"
readonly RELEASE="tf-serving"
readonly KUBE_VERSIONS=("${KUBE_VERSION_OLDEST}" "${KUBE_VERSION_NEWEST}")

require_tools() {
  [[ -x "${HELM}" ]] || die "helm not found at ${HELM}: run \`make tools\`"
  [[ -x "${KUBECONFORM}" ]] || die "kubeconform not found at ${KUBECONFORM}: run \`make tools\`"
}

# resolve_scenarios ARGS...: print absolute paths of the requested (or all) ci/ files.
resolve_scenarios() {
  if [[ $# -eq 0 ]]; then
    find "${CHART_DIR}/ci" -name '*-values.yaml' | sort
    return
  fi
  local arg
  for arg in "$@"; do
    if [[ -f "${arg}" ]]; then
      echo "$(cd "$(dirname "${arg}")" && pwd -P)/$(basename "${arg}")"
    elif [[ -f "${CHART_DIR}/ci/${arg##*/}" ]]; then
      echo "${CHART_DIR}/ci/${arg##*/}"
    else
      die "no scenario ${arg} (expected a file under charts/tf-serving/ci/)"
    fi
  done
}

render_path() {
  local scenario="$1" kube_version="$2"
  echo "${OUT_DIR}/${kube_version}/$(basename "${scenario}" -values.yaml).yaml"
}

lint_scenario() {
  local scenario="$1"
  log "helm lint --strict -f ${scenario#"${REPO_ROOT}"/}"
  "${HELM}" lint --strict --quiet --kube-version "${KUBE_VERSION_NEWEST}" \
    -f "${scenario}" "${CHART_DIR}"
}

template_scenario() {
  local scenario="$1" kube_version out
  for kube_version in "${KUBE_VERSIONS[@]}"; do
    out="$(render_path "${scenario}" "${kube_version}")"
    mkdir -p "$(dirname "${out}")"
    log "helm template (Kubernetes ${kube_version}) -f ${scenario#"${REPO_ROOT}"/}"
    "${HELM}" template "${RELEASE}" "${CHART_DIR}" --kube-version "${kube_version}" \
      -f "${scenario}" >"${out}"
  done
}

kubeconform_scenario() {
  local scenario="$1" kube_version schemas out
  for kube_version in "${KUBE_VERSIONS[@]}"; do
    schemas="$("${PYTHON}" "${REPO_ROOT}/hack/verify/kube_schemas.py" "${kube_version}" "${SCHEMA_CACHE}")"
    out="$(render_path "${scenario}" "${kube_version}")"
    [[ -f "${out}" ]] || template_scenario "${scenario}"
    log "kubeconform -strict (Kubernetes ${kube_version}) ${out#"${REPO_ROOT}"/}"
    # ServiceMonitor and PrometheusRule are Prometheus Operator CRDs: their schemas are not part of the
    # Kubernetes OpenAPI spec, so kubeconform skips it (tests/chart checks its fields).
    "${KUBECONFORM}" -strict -summary -output text -skip ServiceMonitor,PrometheusRule \
      -schema-location "${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json" "${out}"
  done
}

checkov_all() {
  [[ -x "${CHECKOV}" ]] || die "checkov not found at ${CHECKOV}: run \`make tools\`"
  local dir="${OUT_DIR}/checkov" scenario
  rm -rf "${dir}"
  mkdir -p "${dir}"
  for scenario in "$@"; do
    "${HELM}" template "${RELEASE}" "${CHART_DIR}" --kube-version "${KUBE_VERSION_NEWEST}" \
      -f "${scenario}" >"${dir}/$(basename "${scenario}")"
  done
  log "checkov on ${dir#"${REPO_ROOT}"/} ($# scenarios)"
  "${CHECKOV}" --config-file "${CHART_DIR}/.checkov.yaml" --directory "${dir}"
}

main() {
  local step="${1:-all}"
  [[ $# -gt 0 ]] && shift
  require_tools
  local scenarios=()
  mapfile -t scenarios < <(resolve_scenarios "$@")
  [[ ${#scenarios[@]} -gt 0 ]] || die "no scenarios under ${CHART_DIR}/ci"
  local scenario
  case "${step}" in
    lint) for scenario in "${scenarios[@]}"; do lint_scenario "${scenario}"; done ;;
    template) for scenario in "${scenarios[@]}"; do template_scenario "${scenario}"; done ;;
    kubeconform)
      for scenario in "${scenarios[@]}"; do
        template_scenario "${scenario}"
        kubeconform_scenario "${scenario}"
      done ;;
    checkov) checkov_all "${scenarios[@]}" ;;
    all)
      for scenario in "${scenarios[@]}"; do
        lint_scenario "${scenario}"
        template_scenario "${scenario}"
        kubeconform_scenario "${scenario}"
      done
      checkov_all "${scenarios[@]}" ;;
    *) die "unknown step ${step}; use all, lint, template, kubeconform or checkov" ;;
  esac
  log "${step}: OK (${#scenarios[@]} scenarios)"
}

main "$@"
