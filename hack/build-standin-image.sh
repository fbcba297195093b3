#!/usr/bin/env bash
# Build the local test images with no registry pull:
#   tfserving-standin:${TFS_STANDIN_TAG}  the TF Serving STAND-IN (tests only): Debian
#                                         python3 venv + pinned wheels + our packages,
#                                         with a tensorflow_model_server shim behind
#                                         the official image's entrypoint script
#   local/busybox:${LOCAL_BUSYBOX_TAG}    Debian's busybox-static, for helm test pods
#
# The stand-in's base rootfs (debootstrap minbase + venv + wheels) is cached outside
# the repo as a tarball keyed by a hash of the suite and dependency specs, and is
# imported once as a base image; the project's packages go on top in a small layer.
# An image whose content-hash label already matches is not rebuilt.
#
# Usage: hack/build-standin-image.sh [--save PATH] [--force]
#   --save PATH  also write both images to PATH with `docker save` (for
#                `ctr -n k8s.io images import PATH`)
#   --force      rebuild the final images even when the content hash matches
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "${REPO_ROOT}/hack/versions.env"
# shellcheck source-path=SCRIPTDIR source=lib/debian.sh
source "${REPO_ROOT}/hack/lib/debian.sh"

readonly STANDIN_IMAGE="tfserving-standin:${TFS_STANDIN_TAG}"
readonly BUSYBOX_IMAGE="local/busybox:${LOCAL_BUSYBOX_TAG}"
readonly SUITE="${STANDIN_DEBIAN_SUITE}"
readonly RECIPE_DIR="${REPO_ROOT}/images/tfserving-standin"
readonly CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tf-serving-k8s"
readonly HASH_LABEL="io.tf-serving-k8s.content-hash"
readonly DESCRIPTION="STAND-IN for tensorflow/serving, tests only"
# Bump when the base recipe below changes in a way the hashed inputs do not show.
readonly BASE_RECIPE_REVISION=2
readonly BASE_PACKAGES="python3,python3-venv,ca-certificates"

CLEANUP_DIRS=()
BASE_IMAGE=""

log() { echo "[images] $*" >&2; }

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

die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,/^set -o/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

ensure_tools() {
  "${REPO_ROOT}/hack/dockerd-up.sh"
  local missing=()
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
  ((${#missing[@]} == 0)) && return
  [[ "$(id -u)" -eq 0 ]] || die "missing ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'"
  log "installing ${missing[*]} from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >&2 \
    || { apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >&2; }
}

# Version specifiers for the stand-in's runtime deps, taken from pyproject.toml.
resolve_requirements() {
  python3 "${REPO_ROOT}/hack/lib/standin_requirements.py" \
    "${REPO_ROOT}/pyproject.toml" "${RECIPE_DIR}/runtime-deps.txt"
}

hash_stdin() { sha256sum | cut -c1-16; }

base_key() {
  {
    echo "suite=${SUITE} packages=${BASE_PACKAGES} revision=${BASE_RECIPE_REVISION}"
    resolve_requirements
  } | hash_stdin
}

content_key() {
  local base="$1"
  {
    echo "base=${base} tag=${TFS_STANDIN_TAG}"
    cd "${REPO_ROOT}"
    find images/tfserving-standin tfserving_standin smoke_tests -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | hash_stdin
}

image_hash() {
  docker image inspect --format "{{ index .Config.Labels \"${HASH_LABEL}\" }}" "$1" 2>/dev/null || true
}

# The suite's CPython and glibc, which decide the wheels the image can use.
suite_python_and_glibc() {
  case "${SUITE}" in
    bookworm) echo "3.11 36" ;;
    *) die "no CPython/glibc versions known for suite ${SUITE}: add them to suite_python_and_glibc" ;;
  esac
}

download_wheels() {
  local dest="$1" reqs="$2" python glibc arch minor
  read -r python glibc < <(suite_python_and_glibc)
  arch="$(uname -m)"
  log "downloading cp${python/./} wheels for the stand-in's runtime deps (pip's cache makes reruns fast)"
  mkdir -p "${dest}"
  local pip=(python3 -m pip)
  [[ -x "${REPO_ROOT}/.venv/bin/python" ]] && pip=("${REPO_ROOT}/.venv/bin/python" -m pip)
  # Wheels for the image's interpreter, whatever the host runs: pip does not widen
  # a manylinux platform to older glibc tags itself, so list them all.
  local platforms=(--platform "manylinux2014_${arch}")
  for ((minor = glibc; minor >= 17; minor--)); do
    platforms+=(--platform "manylinux_2_${minor}_${arch}")
  done
  "${pip[@]}" download --quiet --only-binary=:all: --implementation cp \
    --python-version "${python}" --abi "cp${python/./}" "${platforms[@]}" \
    --dest "${dest}" -r "${reqs}" >&2
}

build_base_rootfs() {
  local out="$1" work mirror
  [[ "$(id -u)" -eq 0 ]] || die "building the base rootfs needs root (debootstrap, chroot): rerun with sudo"
  mirror="$(find_debian_mirror)"
  # In the cache dir: the rootfs (~2 GB) is then moved, not copied, into the cache.
  make_scratch_dir work "${CACHE_DIR}"
  resolve_requirements >"${work}/requirements.txt"
  download_wheels "${work}/wheels" "${work}/requirements.txt"

  log "debootstrap ${SUITE} minbase (+${BASE_PACKAGES}) from the host's apt source (${SECONDS}s so far)"
  debootstrap --variant=minbase --include="${BASE_PACKAGES}" "${SUITE}" "${work}/rootfs" "${mirror}" \
    >"${work}/debootstrap.log" 2>&1 || { tail -n 30 "${work}/debootstrap.log" >&2; die "debootstrap failed"; }

  local root="${work}/rootfs"
  log "creating /opt/venv, installing $(wc -l <"${work}/requirements.txt") runtime deps from local wheels (${SECONDS}s so far)"
  mv "${work}/wheels" "${root}/tmp/wheels"
  cp "${work}/requirements.txt" "${root}/tmp/requirements.txt"
  # shellcheck disable=SC2016  # expanded by the shell inside the chroot
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root chroot "${root}" /bin/sh -euc '
    python3 -m venv /opt/venv
    /opt/venv/bin/pip install --quiet --no-index --find-links /tmp/wheels -r /tmp/requirements.txt
    site="$(/opt/venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()[\"purelib\"])")"
    echo /opt/tfserving-standin/lib > "${site}/tfserving-standin.pth"
    mkdir -p /opt/tfserving-standin/lib
    echo "tfserving:x:1000:1000:TF Serving stand-in:/home/tfserving:/usr/sbin/nologin" >> /etc/passwd
    echo "tfserving:x:1000:" >> /etc/group
    echo "tfserving:!:19000::::::" >> /etc/shadow
    mkdir -p /home/tfserving && chown 1000:1000 /home/tfserving
    # Build-time only: C++ headers (~400 MB) and the libclang binary (~60 MB).
    rm -rf "${site}/tensorflow/include" "${site}/clang/native"
    rm -rf /tmp/wheels /tmp/requirements.txt /root/.cache /var/lib/apt/lists/* \
      /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
  '
  log "packing the base rootfs into ${out} (${SECONDS}s so far)"
  tar --numeric-owner -C "${root}" -cf "${out}.tmp" .
  mv "${out}.tmp" "${out}"
}

# Sets BASE_IMAGE (not echoed: the build must run in this shell for cleanup).
ensure_base_image() {
  local key="$1" image="tfserving-standin-base:$1" tarball="${CACHE_DIR}/standin-rootfs-$1.tar"
  if docker image inspect "${image}" >/dev/null 2>&1; then
    log "base image ${image} present"
    BASE_IMAGE="${image}"
    return
  fi
  if [[ ! -f "${tarball}" ]]; then
    log "no cached rootfs for key ${key}: building it (cold: a few minutes)"
    build_base_rootfs "${tarball}"
  else
    log "reusing cached rootfs ${tarball}"
  fi
  log "docker import ${tarball} as ${image} (${SECONDS}s so far)"
  docker import \
    --change "LABEL org.opencontainers.image.description=\"${DESCRIPTION} (base layer)\"" \
    --change "ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "${tarball}" "${image}" >/dev/null
  BASE_IMAGE="${image}"
}

build_standin_image() {
  local force="$1" base_key_value content ctx
  base_key_value="$(base_key)"
  content="$(content_key "${base_key_value}")"
  if [[ "${force}" != true && "$(image_hash "${STANDIN_IMAGE}")" == "${content}" ]]; then
    log "${STANDIN_IMAGE} is up to date (content ${content}): nothing to build"
    return
  fi
  ensure_base_image "${base_key_value}"
  [[ -f "${REPO_ROOT}/tfserving_standin/__main__.py" ]] \
    || die "tfserving_standin/__main__.py is missing: the stand-in package must exist before its image"
  make_scratch_dir ctx
  cp "${RECIPE_DIR}/Dockerfile" "${RECIPE_DIR}/tensorflow_model_server" \
    "${RECIPE_DIR}/tf_serving_entrypoint.sh" "${ctx}/"
  (cd "${REPO_ROOT}" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - tfserving_standin smoke_tests) \
    | tar -C "${ctx}" -xf -
  log "building ${STANDIN_IMAGE} on ${BASE_IMAGE} (content ${content}, ${SECONDS}s so far)"
  # The classic builder uses the local base image as is and never contacts a registry.
  DOCKER_BUILDKIT=0 docker build --quiet \
    --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --build-arg "CONTENT_HASH=${content}" \
    --build-arg "STANDIN_TAG=${TFS_STANDIN_TAG}" \
    --tag "${STANDIN_IMAGE}" "${ctx}" >/dev/null
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
  if [[ "${force}" != true && "$(image_hash "${BUSYBOX_IMAGE}")" == "${content}" ]]; then
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

# Drop cache entries and base images of other keys, and our dangling old images.
prune_stale() {
  local key="$1" old
  for old in "${CACHE_DIR}"/standin-rootfs-*.tar; do
    [[ -e "${old}" && "${old}" != *"-${key}.tar" ]] || continue
    log "removing stale cache ${old}"
    rm -f "${old}"
  done
  for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' tfserving-standin-base); do
    [[ "${old}" != *":${key}" ]] || continue
    docker image prune --force --filter "label=${HASH_LABEL}" >/dev/null
    docker image rm "${old}" >/dev/null 2>&1 && log "removed stale base image ${old}"
  done
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
  mkdir -p "${CACHE_DIR}"
  trap cleanup EXIT
  ensure_tools
  build_busybox_image "${force}"
  build_standin_image "${force}"
  prune_stale "$(base_key)"
  log "images: ${STANDIN_IMAGE} ($(docker image inspect --format '{{.Size}}' "${STANDIN_IMAGE}" | numfmt --to=iec)), ${BUSYBOX_IMAGE}"
  [[ -z "${save}" ]] || save_images "${save}"
  log "done in ${SECONDS}s"
}

main "$@"
