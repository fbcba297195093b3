#!/usr/bin/env bash
# Build local/haproxy:${HAPROXY_VERSION} with no registry pull: Debian's haproxy
# package, laid out like the official haproxy image, for the chart's REST drain
# sidecar on the offline e2e cluster. Users get the official image instead.
#
# The rootfs (debootstrap minbase + haproxy + procps; docs, translations and apt
# lists stripped) is cached outside the repo as a tarball keyed by the suite, the
# packages and the version, and imported once as local/haproxy-base:<key>;
# images/drain-proxy/Dockerfile adds only metadata on top. An image whose content-hash label matches is not
# rebuilt. A new image is checked: `haproxy -vv` reports HAPROXY_VERSION, and sh,
# sleep, kill and cat are on PATH (tests/hack/test_drain_proxy_image.py also parses the
# chart's rendered haproxy.cfg in it).
#
# Usage: hack/workarounds/no-registry/build-drain-proxy-image.sh [--force]   (root when the rootfs is cold)
#   --force  rebuild the image (not the cached rootfs) even when the hash matches
# Env:   DEBIAN_MIRROR overrides the host's apt source; HAPROXY_DEBIAN_SUITE (in
#        hack/versions.env) overrides STANDIN_DEBIAN_SUITE.
set -o errexit -o nounset -o pipefail
LOG_TAG="drain-proxy"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
# shellcheck source=hack/lib/debian.sh
source "${REPO_ROOT}/hack/lib/debian.sh"
# shellcheck source=hack/lib/images.sh
source "${REPO_ROOT}/hack/lib/images.sh"

readonly IMAGE="local/haproxy:${HAPROXY_VERSION}"
readonly BASE_REPOSITORY="local/haproxy-base"
readonly SUITE="${HAPROXY_DEBIAN_SUITE:-${STANDIN_DEBIAN_SUITE}}"
readonly RECIPE_DIR="${REPO_ROOT}/images/drain-proxy"
readonly CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tf-serving-k8s"
# procps: a real /bin/kill besides the shell builtin, for exec hooks.
readonly BASE_PACKAGES="haproxy,procps"
# Uid and gid the image runs as: the chart's runAsUser.
readonly RUN_UID=1000
# Bump when the rootfs recipe changes in a way the hashed inputs do not show.
readonly BASE_RECIPE_REVISION=1

WORK=""

cleanup() { [[ -z "${WORK}" ]] || rm -rf "${WORK}"; }

usage() {
  sed -n '2,/^set -o/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

ensure_tools() {
  "${REPO_ROOT}/hack/make-rules/dockerd-up.sh"
  command -v debootstrap >/dev/null 2>&1 && return
  [[ "$(id -u)" -eq 0 ]] || die "missing debootstrap: install with 'sudo apt-get install debootstrap'"
  log "installing debootstrap from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq debootstrap >&2 \
    || { apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq debootstrap >&2; }
}

hash_stdin() { sha256sum | cut -c1-16; }

base_key() {
  echo "suite=${SUITE} packages=${BASE_PACKAGES} haproxy=${HAPROXY_VERSION} uid=${RUN_UID} revision=${BASE_RECIPE_REVISION}" \
    | hash_stdin
}

content_key() {
  {
    echo "base=$1 image=${IMAGE}"
    cd "${REPO_ROOT}"
    find images/drain-proxy -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | hash_stdin
}

# 2:2.6.12-1+deb12u3 -> 2.6.12
upstream_version() {
  local version="${1#*:}"
  echo "${version%-*}"
}

# build_rootfs OUT: debootstrap, renumber the haproxy user, strip, pack into OUT.
build_rootfs() {
  local out="$1" mirror root version
  [[ "$(id -u)" -eq 0 ]] || die "building the rootfs needs root (debootstrap, chroot): rerun with sudo"
  mirror="$(find_debian_mirror)"
  WORK="$(mktemp -d "${CACHE_DIR}/haproxy-rootfs.XXXXXX")"
  root="${WORK}/rootfs"
  log "debootstrap ${SUITE} minbase (+${BASE_PACKAGES}) from ${mirror} (${SECONDS}s so far)"
  debootstrap --variant=minbase --include="${BASE_PACKAGES}" "${SUITE}" "${root}" "${mirror}" \
    >"${WORK}/debootstrap.log" 2>&1 || { tail -n 30 "${WORK}/debootstrap.log" >&2; die "debootstrap failed"; }

  version="$(chroot "${root}" dpkg-query --showformat "\${Version}" --show haproxy)"
  [[ "$(upstream_version "${version}")" == "${HAPROXY_VERSION}" ]] \
    || die "${SUITE} has haproxy ${version}, hack/versions.env says HAPROXY_VERSION=${HAPROXY_VERSION}: update it"

  log "haproxy ${version}: renumbering its user to ${RUN_UID}, stripping docs and apt lists (${SECONDS}s so far)"
  # shellcheck disable=SC2016  # expanded by the shell inside the chroot
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin RUN_UID="${RUN_UID}" chroot "${root}" /bin/sh -euc '
    groupmod --gid "${RUN_UID}" haproxy
    usermod --uid "${RUN_UID}" --gid "${RUN_UID}" haproxy
    chown -R "${RUN_UID}:${RUN_UID}" /var/lib/haproxy
    # Where the official image has its binary and configuration.
    ln -s /usr/sbin/haproxy /usr/local/sbin/haproxy
    mkdir -p /usr/local/etc/haproxy
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
      /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/log/*.log /var/log/apt/* \
      /etc/machine-id /var/cache/debconf/*-old /var/lib/dpkg/*-old
    # Message translations (a third of the rootfs); HAProxy has none.
    find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  '
  tar --numeric-owner -C "${root}" -cf "${out}.tmp" .
  mv "${out}.tmp" "${out}"
  cleanup
  WORK=""
}

# ensure_base_image KEY: local/haproxy-base:KEY, from the cached rootfs (built if cold).
ensure_base_image() {
  local key="$1" image="${BASE_REPOSITORY}:$1" tarball="${CACHE_DIR}/haproxy-rootfs-$1.tar"
  if docker image inspect "${image}" >/dev/null 2>&1; then
    log "base image ${image} present"
    return
  fi
  if [[ -f "${tarball}" ]]; then
    log "reusing cached rootfs ${tarball}"
  else
    log "no cached rootfs for key ${key}: building it (cold: about a minute)"
    build_rootfs "${tarball}"
  fi
  log "docker import ${tarball} as ${image} (${SECONDS}s so far)"
  docker import \
    --change "LABEL org.opencontainers.image.description=\"Debian ${SUITE} minbase + ${BASE_PACKAGES} (base layer of ${IMAGE})\"" \
    "${tarball}" "${image}" >/dev/null
}

build_image() {
  local key="$1" content="$2" base="${BASE_REPOSITORY}:$1" version ctx
  ensure_base_image "${key}"
  version="$(docker run --rm "${base}" dpkg-query --showformat "\${Version}" --show haproxy)"
  WORK="$(mktemp -d)"
  ctx="${WORK}"
  cp "${RECIPE_DIR}/Dockerfile" "${ctx}/"
  log "building ${IMAGE} on ${base} (content ${content}, ${SECONDS}s so far)"
  build_local_image "${IMAGE}" "${ctx}" \
    --build-arg "BASE_IMAGE=${base}" \
    --build-arg "CONTENT_HASH=${content}" \
    --build-arg "HAPROXY_VERSION=${HAPROXY_VERSION}" \
    --build-arg "DEBIAN_PACKAGE_VERSION=${version}"
  cleanup
  WORK=""
}

check_image() {
  local banner
  # All of it, not `| head`: under pipefail an early-closed pipe fails the check.
  banner="$(docker run --rm "${IMAGE}" haproxy -vv)"
  log "haproxy -vv: ${banner%%$'\n'*}"
  [[ "${banner}" == "HAProxy version ${HAPROXY_VERSION}-"* ]] \
    || die "${IMAGE} runs '${banner%%$'\n'*}', not HAProxy ${HAPROXY_VERSION}"
  # shellcheck disable=SC2016  # expanded by the shell inside the container
  docker run --rm "${IMAGE}" /bin/sh -euc \
    'for tool in haproxy sleep kill cat; do command -v "${tool}" >/dev/null; done; [ -x /bin/kill ]' \
    || die "${IMAGE} lacks one of haproxy, sleep, kill, cat"
}

# Drop cached rootfs tarballs and base images of other keys, and our dangling images.
prune_stale() {
  local key="$1" old
  for old in "${CACHE_DIR}"/haproxy-rootfs-*.tar; do
    [[ -e "${old}" && "${old}" != *"-${key}.tar" ]] || continue
    log "removing stale cache ${old}"
    rm -f "${old}"
  done
  docker image prune --force --filter "label=${HASH_LABEL}" >/dev/null
  for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "${BASE_REPOSITORY}"); do
    [[ "${old}" != *":${key}" ]] || continue
    docker image rm "${old}" >/dev/null 2>&1 && log "removed stale base image ${old}"
  done
}

main() {
  local force=false key content
  while (($#)); do
    case "$1" in
      --force) force=true; shift ;;
      -h | --help) usage; return 0 ;;
      *) usage; die "unknown argument '$1'" ;;
    esac
  done
  mkdir -p "${CACHE_DIR}"
  trap cleanup EXIT
  ensure_tools
  key="$(base_key)"
  content="$(content_key "${key}")"
  if [[ "${force}" != true && "$(image_content_hash "${IMAGE}")" == "${content}" ]]; then
    log "${IMAGE} is up to date (content ${content}): nothing to build"
  else
    build_image "${key}" "${content}"
    check_image
    prune_stale "${key}"
  fi
  log "${IMAGE}: $(docker image inspect --format '{{.Size}}' "${IMAGE}" | numfmt --to=iec), done in ${SECONDS}s"
}

main "$@"
