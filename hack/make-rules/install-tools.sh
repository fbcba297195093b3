#!/usr/bin/env bash
# Install the pinned CLI tools (helm, kind, kubeconform, actionlint, helm-docs, promtool, checkov)
# into bin/ and build tfs-load-engine there from loadengine/; `hack/make-rules/install-tools.sh registry` installs the CNCF distribution registry alone
# (static, for the loopback registry image of hack/make-rules/local-registry.sh).
# With Go present: `go install` from the Go module proxy. Without Go: the
# project's release binaries, verified against the checksum file published
# beside each release. A tool already installed at the pinned version is kept.
set -o errexit -o nounset -o pipefail
LOG_TAG="tools"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly BIN_DIR="${REPO_ROOT}/bin"
readonly STAMP_DIR="${BIN_DIR}/.stamps"
OS="$(uname -s | tr '[:upper:]' '[:lower:]')"
ARCH="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
readonly OS ARCH


# Stamps record name, version and BUILD_REV (bumped when the build recipe changes).
readonly BUILD_REV=2

is_current() {
  local name="$1" version="$2"
  [[ -x "${BIN_DIR}/${name}" && -f "${STAMP_DIR}/${name}-${version}-r${BUILD_REV}" ]]
}

mark_current() {
  local name="$1" version="$2"
  rm -f "${STAMP_DIR}/${name}-"*
  touch "${STAMP_DIR}/${name}-${version}-r${BUILD_REV}"
}

# helm_ldflags VERSION: the -X flags helm's own Makefile sets. Without them a
# `go install`ed helm reports Kubernetes v1.20 as its default, so `helm template`
# rejects charts with kubeVersion >= 1.21 unless --kube-version is passed.
helm_ldflags() {
  local version="$1" gomod client_go major minor
  gomod="$(go mod download -json "helm.sh/helm/v3@${version}" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  client_go="$(awk '$1 == "k8s.io/client-go" { print $2 }' "${gomod}")"
  major=$(( $(echo "${client_go#v}" | cut -d. -f1) + 1 ))
  minor="$(echo "${client_go#v}" | cut -d. -f2)"
  local pkg
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    printf -- '-X %s.k8sVersionMajor=%s -X %s.k8sVersionMinor=%s ' "${pkg}" "${major}" "${pkg}" "${minor}"
  done
  printf -- '-X helm.sh/helm/v3/internal/version.version=%s' "${version}"
}

go_install() {
  local name="$1" version="$2" module="$3" ldflags=""
  [[ "${name}" == helm ]] && ldflags="$(helm_ldflags "${version}")"
  local env=(GOBIN="${BIN_DIR}" GOFLAGS="-trimpath")
  # The registry runs in a FROM-scratch image: no libc to link against.
  [[ "${name}" == registry ]] && env+=(CGO_ENABLED=0)
  log "go install ${module}@${version}"
  env "${env[@]}" go install -ldflags "${ldflags}" "${module}@${version}"
}

# download_verified URL SUMS_URL: fetch URL and check it against SUMS_URL.
download_verified() {
  local url="$1" sums_url="$2" dest="$3" file
  file="$(basename "${url}")"
  log "downloading ${url}"
  curl --fail --silent --show-error --location --output "${dest}/${file}" "${url}"
  curl --fail --silent --show-error --location --output "${dest}/sums" "${sums_url}"
  local expected
  expected="$(grep -E "(^| |\*)${file}\$" "${dest}/sums" | awk '{print $1}' | head -n1)"
  [[ -n "${expected}" ]] || expected="$(awk '{print $1}' "${dest}/sums" | head -n1)"
  echo "${expected}  ${dest}/${file}" | sha256sum --check --status \
    || { log "checksum mismatch for ${file}: refusing to install it"; return 1; }
}

release_install() {
  local name="$1" version="$2" tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' RETURN
  case "${name}" in
    helm)
      download_verified "https://get.helm.sh/helm-${version}-${OS}-${ARCH}.tar.gz" \
        "https://get.helm.sh/helm-${version}-${OS}-${ARCH}.tar.gz.sha256sum" "${tmp}"
      tar -xzf "${tmp}/helm-${version}-${OS}-${ARCH}.tar.gz" -C "${tmp}"
      install -m 0755 "${tmp}/${OS}-${ARCH}/helm" "${BIN_DIR}/helm" ;;
    kind)
      download_verified "https://github.com/kubernetes-sigs/kind/releases/download/${version}/kind-${OS}-${ARCH}" \
        "https://github.com/kubernetes-sigs/kind/releases/download/${version}/kind-${OS}-${ARCH}.sha256sum" "${tmp}"
      install -m 0755 "${tmp}/kind-${OS}-${ARCH}" "${BIN_DIR}/kind" ;;
    kubeconform)
      download_verified "https://github.com/yannh/kubeconform/releases/download/${version}/kubeconform-${OS}-${ARCH}.tar.gz" \
        "https://github.com/yannh/kubeconform/releases/download/${version}/CHECKSUMS" "${tmp}"
      tar -xzf "${tmp}/kubeconform-${OS}-${ARCH}.tar.gz" -C "${tmp}"
      install -m 0755 "${tmp}/kubeconform" "${BIN_DIR}/kubeconform" ;;
    helm-docs)
      local v="${version#v}" os_name arch_name
      os_name="$(uname -s)"
      arch_name="$(uname -m | sed -e 's/aarch64/arm64/')"
      download_verified "https://github.com/norwoodj/helm-docs/releases/download/${version}/helm-docs_${v}_${os_name}_${arch_name}.tar.gz" \
        "https://github.com/norwoodj/helm-docs/releases/download/${version}/checksums.txt" "${tmp}"
      tar -xzf "${tmp}/helm-docs_${v}_${os_name}_${arch_name}.tar.gz" -C "${tmp}"
      install -m 0755 "${tmp}/helm-docs" "${BIN_DIR}/helm-docs" ;;
    actionlint)
      local v="${version#v}"
      download_verified "https://github.com/rhysd/actionlint/releases/download/${version}/actionlint_${v}_${OS}_${ARCH}.tar.gz" \
        "https://github.com/rhysd/actionlint/releases/download/${version}/actionlint_${v}_checksums.txt" "${tmp}"
      tar -xzf "${tmp}/actionlint_${v}_${OS}_${ARCH}.tar.gz" -C "${tmp}"
      install -m 0755 "${tmp}/actionlint" "${BIN_DIR}/actionlint" ;;
    registry)
      local v="${version#v}"
      download_verified "https://github.com/distribution/distribution/releases/download/${version}/registry_${v}_${OS}_${ARCH}.tar.gz" \
        "https://github.com/distribution/distribution/releases/download/${version}/registry_${v}_checksums.txt" "${tmp}"
      tar -xzf "${tmp}/registry_${v}_${OS}_${ARCH}.tar.gz" -C "${tmp}"
      install -m 0755 "${tmp}/registry" "${BIN_DIR}/registry" ;;
    promtool)
      # The Go module tag v0.3MM.P is Prometheus release v3.MM.P.
      local minor patch v
      minor="$(echo "${version#v0.3}" | cut -d. -f1)"
      patch="$(echo "${version}" | cut -d. -f3)"
      v="3.$((10#${minor})).${patch}"
      download_verified "https://github.com/prometheus/prometheus/releases/download/v${v}/prometheus-${v}.${OS}-${ARCH}.tar.gz" \
        "https://github.com/prometheus/prometheus/releases/download/v${v}/sha256sums.txt" "${tmp}"
      tar -xzf "${tmp}/prometheus-${v}.${OS}-${ARCH}.tar.gz" -C "${tmp}"
      install -m 0755 "${tmp}/prometheus-${v}.${OS}-${ARCH}/promtool" "${BIN_DIR}/promtool" ;;
  esac
}

install_tool() {
  local name="$1" version="$2" module="$3"
  if is_current "${name}" "${version}"; then
    log "${name} ${version} already installed"
    return
  fi
  if command -v go >/dev/null 2>&1; then
    go_install "${name}" "${version}" "${module}"
  else
    release_install "${name}" "${version}"
  fi
  mark_current "${name}" "${version}"
}

# checkov pins packages that clash with ours, so it gets a virtualenv of its own.
install_checkov() {
  local version="$1" venv="${BIN_DIR}/.checkov-venv"
  if is_current checkov "${version}"; then
    log "checkov ${version} already installed"
    return
  fi
  log "pip install checkov==${version} into its own virtualenv"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install --quiet "checkov==${version}"
  ln -sf "${venv}/bin/checkov" "${BIN_DIR}/checkov"
  mark_current checkov "${version}"
}

# tfs-load's Go engine (loadengine/, our own module): `go build` is incremental,
# so this is quick when nothing changed. Without Go, --engine python still works.
build_load_engine() {
  if ! command -v go >/dev/null 2>&1; then
    log "no Go: skipping tfs-load-engine (tfs-load --engine go needs it)"
    return
  fi
  log "go build tfs-load-engine (loadengine/)"
  (cd "${REPO_ROOT}/loadengine" && go build -trimpath -o "${BIN_DIR}/tfs-load-engine" .)
}

main() {
  mkdir -p "${BIN_DIR}" "${STAMP_DIR}"
  if [[ "${1:-}" == registry ]]; then
    install_tool registry "${DISTRIBUTION_VERSION}" github.com/distribution/distribution/v3/cmd/registry
    return
  fi
  install_tool helm "${HELM_VERSION}" helm.sh/helm/v3/cmd/helm
  install_tool kind "${KIND_VERSION}" sigs.k8s.io/kind
  install_tool kubeconform "${KUBECONFORM_VERSION}" github.com/yannh/kubeconform/cmd/kubeconform
  install_tool actionlint "${ACTIONLINT_VERSION}" github.com/rhysd/actionlint/cmd/actionlint
  install_tool helm-docs "${HELM_DOCS_VERSION}" github.com/norwoodj/helm-docs/cmd/helm-docs
  install_tool promtool "${PROMETHEUS_VERSION}" github.com/prometheus/prometheus/cmd/promtool
  install_checkov "${CHECKOV_VERSION}"
  build_load_engine
}

main "$@"
