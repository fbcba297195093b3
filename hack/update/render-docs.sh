#!/usr/bin/env bash
# Regenerate charts/tf-serving/README.md from README.md.gotmpl and the `# --`
# comments in values.yaml with the pinned helm-docs (`make docs`).
set -o errexit -o nounset -o pipefail
LOG_TAG="render-docs"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly HELM_DOCS="${HELM_DOCS:-${REPO_ROOT}/bin/helm-docs}"


render_docs() {
  [[ -x "${HELM_DOCS}" ]] || { log "helm-docs not found at ${HELM_DOCS}: run \`make tools\`"; exit 1; }
  log "helm-docs -> charts/tf-serving/README.md"
  "${HELM_DOCS}" --log-level warning --chart-search-root "${REPO_ROOT}/charts" \
    --template-files README.md.gotmpl --sort-values-order file
}

main() { render_docs; }

main "$@"
