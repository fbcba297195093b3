#!/usr/bin/env bash
# Build the local test images with no registry pull:
#   tfserving-standin:${TFS_STANDIN_TAG}  the TF Serving STAND-IN (tests only): the
#                                         `standin` Python base (hack/workarounds/no-registry/build-python-base.sh:
#                                         Debian venv with .[standin]) + our packages,
#                                         with a tensorflow_model_server shim behind
#                                         the official image's entrypoint script
#   local/busybox:${LOCAL_BUSYBOX_TAG}    Debian's busybox-static, for helm test pods
#
# The project's packages go on top of the base in a small layer. An image whose
# content-hash label already matches is not rebuilt.
#
# Usage: hack/build/standin-image.sh [--save PATH] [--force]
#   --save PATH  also write both images to PATH with `docker save` (for
#                `ctr -n k8s.io images import PATH`)
#   --force      rebuild the final images even when the content hash matches
set -o errexit -o nounset -o pipefail
LOG_TAG="images"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=hack/lib/debian.sh
source "${REPO_ROOT}/hack/lib/debian.sh"
# shellcheck source=hack/lib/images.sh
source "${REPO_ROOT}/hack/lib/images.sh"

readonly STANDIN_IMAGE="tfserving-standin:${TFS_STANDIN_TAG}"
readonly BUSYBOX_IMAGE="local/busybox:${LOCAL_BUSYBOX_TAG}"
readonly RECIPE_DIR="${REPO_ROOT}/images/tfserving-standin"

CLEANUP_DIRS=()


# Scratch directories go on CLEANUP_DIRS and are removed on any exit, failures included.
cleanup() {
  ((${#CLEANUP_DIRS[@]} == 0)) || rm -rf "${CLEANUP_DIRS[@]}"
}

# make_scratch_dir VAR [PARENT]: a new directory in VAR, removed at exit. No $(...):
# a subshell would register it in its own copy of CLEANUP_DIRS.
make_scratch_dir() {
  local -n scratch_dir_ref="$1"
  scratch_dir_ref="$(mktemp -d "${2:-${TMPDIR:-/tmp}}/tfs-images.XXXXXX")"
  CLEANUP_DIRS+=("${scratch_dir_ref}")
}


usage() {
  sed -n '2,/^set -o/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

hash_stdin() { sha256sum | cut -c1-16; }

content_key() {
  local base="$1"
  {
    echo "base=$(docker image inspect --format '{{.Id}}' "${base}") tag=${TFS_STANDIN_TAG}"
    cd "${REPO_ROOT}"
    find images/tfserving-standin testing/tfserving_standin hack/data/tf_serving_flags.json tfserving_contract smoke_tests -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | hash_stdin
}

build_standin_image() {
  local force="$1" base content ctx
  base="$("${REPO_ROOT}/hack/workarounds/no-registry/build-python-base.sh" standin)"
  content="$(content_key "${base}")"
  if [[ "${force}" != true && "$(image_content_hash "${STANDIN_IMAGE}")" == "${content}" ]]; then
    log "${STANDIN_IMAGE} is up to date (content ${content}): nothing to build"
    return
  fi
  [[ -f "${REPO_ROOT}/testing/tfserving_standin/__main__.py" ]] \
    || die "testing/tfserving_standin/__main__.py is missing: the stand-in package must exist before its image"
  make_scratch_dir ctx
  cp "${RECIPE_DIR}/Dockerfile" "${RECIPE_DIR}/tensorflow_model_server" \
    "${RECIPE_DIR}/tf_serving_entrypoint.sh" "${ctx}/"
  (cd "${REPO_ROOT}" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - -C testing tfserving_standin -C .. tfserving_contract smoke_tests hack/data/tf_serving_flags.json) \
    | tar -C "${ctx}" -xf -
  log "building ${STANDIN_IMAGE} on ${base} (content ${content}, ${SECONDS}s so far)"
  build_local_image "${STANDIN_IMAGE}" "${ctx}" \
    --build-arg "BASE_IMAGE=${base}" \
    --build-arg "CONTENT_HASH=${content}" \
    --build-arg "STANDIN_TAG=${TFS_STANDIN_TAG}"
}

build_busybox_image() {
  local force="$1" work deb version content
  make_scratch_dir work
  (cd "${work}" && apt-get download busybox-static >/dev/null 2>&1) \
    || { apt-get -o DPkg::Lock::Timeout=300 update -qq && (cd "${work}" && apt-get download busybox-static >/dev/null); } \
    || die "could not download Debian's busybox-static package"
  deb="$(ls "${work}"/busybox-static_*.deb)"
  version="$(dpkg-deb --field "${deb}" Version)"
  content="$({ echo "${version}"; declare -f build_busybox_image; } | hash_stdin)"
  if [[ "${force}" != true && "$(image_content_hash "${BUSYBOX_IMAGE}")" == "${content}" ]]; then
    log "${BUSYBOX_IMAGE} is up to date (busybox-static ${version})"
    return
  fi
  [[ "${version}" == *":${LOCAL_BUSYBOX_TAG}-"* || "${version}" == "${LOCAL_BUSYBOX_TAG}-"* ]] \
    || log "warning: busybox-static is ${version}, tag says ${LOCAL_BUSYBOX_TAG}: update LOCAL_BUSYBOX_TAG"
  local root="${work}/rootfs"
  dpkg-deb -x "${deb}" "${work}/pkg"
  mkdir -p "${root}/bin" "${root}/etc" "${root}/tmp" "${root}/root"
  chmod 1777 "${root}/tmp"
  install -m 0755 "${work}/pkg/bin/busybox" "${root}/bin/busybox"
  local applet
  for applet in $("${root}/bin/busybox" --list); do
    [[ "${applet}" == busybox ]] || ln -s busybox "${root}/bin/${applet}"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"${root}/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"${root}/etc/group"
  log "docker import busybox-static ${version} as ${BUSYBOX_IMAGE}"
  tar --numeric-owner --owner=0 --group=0 -C "${root}" -cf - . | docker import \
    --change "LABEL org.opencontainers.image.description=\"Debian busybox-static ${version}, built locally for tests\"" \
    --change "LABEL ${HASH_LABEL}=${content}" \
    --change "ENV PATH=/bin" \
    --change "USER 65534:65534" \
    --change 'CMD ["sh"]' \
    - "${BUSYBOX_IMAGE}" >/dev/null
}

# Our dangling old images.
prune_stale() {
  docker image prune --force --filter "label=${HASH_LABEL}" >/dev/null
}

# docker save both images to PATH; PATH.ids records the image IDs it holds, so an
# unchanged pair is not written again.
save_images() {
  local path="$1" ids
  ids="$(docker image inspect --format '{{.Id}}' "${STANDIN_IMAGE}" "${BUSYBOX_IMAGE}")"
  if [[ -f "${path}" && -f "${path}.ids" && "$(cat "${path}.ids")" == "${ids}" ]]; then
    log "${path} already holds these images: not saving again"
    return
  fi
  mkdir -p "$(dirname "${path}")"
  log "docker save ${STANDIN_IMAGE} ${BUSYBOX_IMAGE} -> ${path}"
  rm -f "${path}.ids"
  docker save --output "${path}.tmp" "${STANDIN_IMAGE}" "${BUSYBOX_IMAGE}"
  mv "${path}.tmp" "${path}"
  echo "${ids}" >"${path}.ids"
}

main() {
  local save="" force=false
  while (($#)); do
    case "$1" in
      --save) [[ $# -ge 2 ]] || die "--save needs a PATH"; save="$2"; shift 2 ;;
      --save=*) save="${1#--save=}"; shift ;;
      --force) force=true; shift ;;
      -h | --help) usage; return 0 ;;
      *) usage; die "unknown argument '$1'" ;;
    esac
  done
  trap cleanup EXIT
  "${REPO_ROOT}/hack/make-rules/dockerd-up.sh"
  ensure_commands dpkg-deb:dpkg || exit 1
  build_busybox_image "${force}"
  build_standin_image "${force}"
  prune_stale
  log "images: ${STANDIN_IMAGE} ($(docker image inspect --format '{{.Size}}' "${STANDIN_IMAGE}" | numfmt --to=iec)), ${BUSYBOX_IMAGE}"
  [[ -z "${save}" ]] || save_images "${save}"
  log "done in ${SECONDS}s"
}

main "$@"
