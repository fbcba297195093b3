#!/usr/bin/env bash
# Build (or find) a local Python base image for the project's images, no registry
# pull, and print its name:
#   tf-serving-python:<flavor>-<key>  Debian minbase + python3 venv in /opt/venv with
#                                     what pip installs for the flavor's projects
# FLAVOR is `client` (`pip install .`: the client tools, no TensorFlow) or `standin`
# (`pip install . ./testing`: the TF Serving STAND-IN too, with TensorFlow).
# /opt/tf-serving-k8s/lib is on the venv's path: images copy the project's packages
# there. pip resolves the extras for the image's CPython; the Debian rootfs and
# each flavor's rootfs are cached as tarballs under ~/.cache/tf-serving-k8s keyed
# by what went into them.
#
# Usage: hack/workarounds/no-registry/build-python-base.sh FLAVOR
set -o errexit -o nounset -o pipefail
LOG_TAG="python-base"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
# shellcheck source=hack/lib/debian.sh
source "${REPO_ROOT}/hack/lib/debian.sh"

readonly SUITE="${STANDIN_DEBIAN_SUITE}"
readonly CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tf-serving-k8s"
readonly REPOSITORY="tf-serving-python"
# Bump when the recipe below changes in a way the hashed inputs do not show.
readonly RECIPE_REVISION=3
readonly DEBIAN_PACKAGES="python3,python3-venv,ca-certificates"

SCRATCH=""
cleanup() { [[ -z "${SCRATCH}" ]] || rm -rf "${SCRATCH}"; }
hash_stdin() { sha256sum | cut -c1-16; }

python_cmd() {
  if [[ -x "${REPO_ROOT}/.venv/bin/python" ]]; then echo "${REPO_ROOT}/.venv/bin/python"; else echo python3; fi
}

# The suite's CPython and glibc, which decide the wheels the image can use.
suite_python_and_glibc() {
  case "${SUITE}" in
    bookworm) echo "3.11 36" ;;
    *) die "no CPython/glibc versions known for suite ${SUITE}: add them to suite_python_and_glibc" ;;
  esac
}

# The project directories of a flavor.
flavor_projects() {
  case "$1" in
    client) echo "." ;;
    standin) echo ". testing" ;;
    *) die "unknown flavor '$1': client or standin" ;;
  esac
}

# Pinned requirements of the flavor, cached by the pyproject.toml files' content.
requirements() {
  local flavor="$1" python glibc key cached projects
  read -r python glibc < <(suite_python_and_glibc)
  read -r -a projects < <(flavor_projects "${flavor}")
  key="$({ cat "${REPO_ROOT}/pyproject.toml" "${REPO_ROOT}/testing/pyproject.toml"; echo "${flavor} ${python} ${glibc} $(uname -m)"; } | hash_stdin)"
  cached="${CACHE_DIR}/requirements-${flavor}-${key}.txt"
  if [[ ! -s "${cached}" ]]; then
    log "resolving ${projects[*]} for CPython ${python} with pip"
    "$(python_cmd)" "${REPO_ROOT}/hack/lib/image_requirements.py" \
      --python "${python}" --glibc "${glibc}" "${projects[@]}" >"${cached}.tmp"
    mv "${cached}.tmp" "${cached}"
  fi
  cat "${cached}"
}

download_wheels() {
  local dest="$1" reqs="$2" python glibc
  read -r python glibc < <(suite_python_and_glibc)
  log "downloading cp${python/./} wheels (pip's cache makes reruns fast)"
  "$(python_cmd)" "${REPO_ROOT}/hack/lib/image_requirements.py" --python "${python}" \
    --glibc "${glibc}" --download "${dest}" --requirements "${reqs}"
}

# The Debian minbase rootfs with python3, shared by every flavor.
debian_rootfs() {
  local key tarball mirror
  key="$(echo "suite=${SUITE} packages=${DEBIAN_PACKAGES} revision=${RECIPE_REVISION}" | hash_stdin)"
  tarball="${CACHE_DIR}/debian-${SUITE}-${key}.tar"
  if [[ ! -f "${tarball}" ]]; then
    [[ "$(id -u)" -eq 0 ]] || die "building the base rootfs needs root (debootstrap, chroot): rerun with sudo"
    ensure_commands debootstrap:debootstrap || exit 1
    mirror="$(find_debian_mirror)"
    log "debootstrap ${SUITE} minbase (+${DEBIAN_PACKAGES}) from the host's apt source"
    debootstrap --variant=minbase --include="${DEBIAN_PACKAGES}" "${SUITE}" "${SCRATCH}/debian" "${mirror}" \
      >"${SCRATCH}/debootstrap.log" 2>&1 || { tail -n 30 "${SCRATCH}/debootstrap.log" >&2; die "debootstrap failed"; }
    tar --numeric-owner -C "${SCRATCH}/debian" -cf "${tarball}.tmp" .
    mv "${tarball}.tmp" "${tarball}"
    rm -rf "${SCRATCH}/debian"
  fi
  echo "${tarball}"
}

build_rootfs() {
  local flavor="$1" reqs="$2" out="$3" root="${SCRATCH}/rootfs" debian
  [[ "$(id -u)" -eq 0 ]] || die "building the base rootfs needs root (chroot): rerun with sudo"
  debian="$(debian_rootfs)"
  download_wheels "${SCRATCH}/wheels" "${reqs}"
  mkdir -p "${root}"
  tar --numeric-owner -C "${root}" -xf "${debian}"
  log "creating /opt/venv with $(wc -l <"${reqs}") distributions from local wheels (${SECONDS}s so far)"
  mv "${SCRATCH}/wheels" "${root}/tmp/wheels"
  cp "${reqs}" "${root}/tmp/requirements.txt"
  # shellcheck disable=SC2016  # expanded by the shell inside the chroot
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root chroot "${root}" /bin/sh -euc '
    python3 -m venv /opt/venv
    /opt/venv/bin/pip install --quiet --no-index --find-links /tmp/wheels -r /tmp/requirements.txt
    site="$(/opt/venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()[\"purelib\"])")"
    echo /opt/tf-serving-k8s/lib > "${site}/tf-serving-k8s.pth"
    mkdir -p /opt/tf-serving-k8s/lib
    echo "tfserving:x:1000:1000:TF Serving tools:/home/tfserving:/usr/sbin/nologin" >> /etc/passwd
    echo "tfserving:x:1000:" >> /etc/group
    echo "tfserving:!:19000::::::" >> /etc/shadow
    mkdir -p /home/tfserving && chown 1000:1000 /home/tfserving
    # Build-time only: C++ headers (~400 MB) and the libclang binary (~60 MB).
    rm -rf "${site}/tensorflow/include" "${site}/clang/native"
    rm -rf /tmp/wheels /tmp/requirements.txt /root/.cache /var/lib/apt/lists/* \
      /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
  '
  log "packing the ${flavor} rootfs into ${out} (${SECONDS}s so far)"
  tar --numeric-owner -C "${root}" -cf "${out}.tmp" .
  mv "${out}.tmp" "${out}"
}

# Drop the flavor's cached rootfs tarballs and images of other keys.
prune_stale() {
  local flavor="$1" key="$2" old
  for old in "${CACHE_DIR}/python-rootfs-${flavor}-"*.tar; do
    [[ -e "${old}" && "${old}" != *"-${key}.tar" ]] || continue
    log "removing stale cache ${old}"
    rm -f "${old}"
  done
  for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "${REPOSITORY}"); do
    [[ "${old}" == *":${flavor}-"* && "${old}" != *":${flavor}-${key}" ]] || continue
    docker image rm "${old}" >/dev/null 2>&1 && log "removed stale base image ${old}"
  done
}

main() {
  [[ $# -eq 1 && "$1" != -* ]] || { sed -n '2,/^set -o/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
  local flavor="$1" key image tarball
  flavor_projects "${flavor}" >/dev/null
  mkdir -p "${CACHE_DIR}"
  "${REPO_ROOT}/hack/make-rules/dockerd-up.sh" >/dev/null
  SCRATCH="$(mktemp -d "${CACHE_DIR}/python-base.XXXXXX")"
  trap cleanup EXIT
  requirements "${flavor}" >"${SCRATCH}/requirements.txt"
  key="$({ echo "suite=${SUITE} packages=${DEBIAN_PACKAGES} revision=${RECIPE_REVISION}"; cat "${SCRATCH}/requirements.txt"; } | hash_stdin)"
  image="${REPOSITORY}:${flavor}-${key}"
  if ! docker image inspect "${image}" >/dev/null 2>&1; then
    tarball="${CACHE_DIR}/python-rootfs-${flavor}-${key}.tar"
    if [[ -f "${tarball}" ]]; then
      log "reusing cached rootfs ${tarball}"
    else
      log "no cached ${flavor} rootfs for key ${key}: building it (cold: a few minutes)"
      build_rootfs "${flavor}" "${SCRATCH}/requirements.txt" "${tarball}"
    fi
    log "docker import ${tarball} as ${image}"
    docker import \
      --change "LABEL org.opencontainers.image.description=\"Python base (${flavor}) for the tf-serving-k8s images, built locally\"" \
      --change "ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      "${tarball}" "${image}" >/dev/null
  fi
  prune_stale "${flavor}" "${key}"
  echo "${image}"
}

main "$@"
