#!/usr/bin/env bash
# Make sure a Docker daemon answers. When none does, install Debian's docker.io
# (only if dockerd is missing) and start dockerd in the background: machines
# without systemd (CI containers, this project's VMs) have nobody else to do it.
# Idempotent: a daemon that already answers is left alone.
#
# Usage: hack/make-rules/dockerd-up.sh
# Env:   DOCKERD_TIMEOUT (seconds to wait for the socket, default 60)
#        DOCKERD_STATE_DIR (log and pid files, default ~/.cache/tf-serving-k8s/dockerd)
set -o errexit -o nounset -o pipefail
LOG_TAG="dockerd"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

readonly DOCKERD_TIMEOUT="${DOCKERD_TIMEOUT:-60}"
readonly CACHE_ROOT="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tf-serving-k8s"
readonly DOCKERD_STATE_DIR="${DOCKERD_STATE_DIR:-${CACHE_ROOT}/dockerd}"
readonly DOCKERD_LOG="${DOCKERD_STATE_DIR}/dockerd.log"
readonly DOCKERD_PIDFILE="/var/run/docker.pid"


daemon_answers() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 10 docker info >/dev/null 2>&1
}

ensure_dockerd_installed() {
  if command -v dockerd >/dev/null 2>&1; then
    return
  fi
  [[ "$(id -u)" -eq 0 ]] || die "dockerd is missing and installing it needs root: run 'sudo apt-get install docker.io' or start Docker yourself"
  command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and apt-get is not available: install Docker for your OS and start it"
  log "dockerd not found: installing Debian's docker.io (one-time, about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends docker.io >&2
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is still not on PATH"
}

clear_stale_pidfile() {
  [[ -f "${DOCKERD_PIDFILE}" ]] || return 0
  local pid
  pid="$(cat "${DOCKERD_PIDFILE}" 2>/dev/null || true)"
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    return 0
  fi
  log "removing stale ${DOCKERD_PIDFILE} (pid ${pid:-?} is gone)"
  rm -f "${DOCKERD_PIDFILE}"
}

dockerd_running() {
  [[ -f "${DOCKERD_PIDFILE}" ]] && kill -0 "$(cat "${DOCKERD_PIDFILE}")" 2>/dev/null
}

start_dockerd() {
  [[ "$(id -u)" -eq 0 ]] || die "no Docker daemon answers and starting one needs root: start Docker (e.g. 'sudo systemctl start docker')"
  mkdir -p "${DOCKERD_STATE_DIR}"
  clear_stale_pidfile
  if dockerd_running; then
    log "dockerd (pid $(cat "${DOCKERD_PIDFILE}")) is starting: waiting for it"
    return
  fi
  log "starting dockerd in the background (log: ${DOCKERD_LOG})"
  # setsid: the daemon must outlive this script and the make that called it.
  setsid nohup dockerd --pidfile "${DOCKERD_PIDFILE}" >>"${DOCKERD_LOG}" 2>&1 </dev/null &
}

wait_for_daemon() {
  local deadline=$((SECONDS + DOCKERD_TIMEOUT))
  until daemon_answers; do
    if ((SECONDS >= deadline)); then
      log "last lines of ${DOCKERD_LOG}:"
      tail -n 20 "${DOCKERD_LOG}" >&2 2>/dev/null || true
      die "Docker daemon did not answer within ${DOCKERD_TIMEOUT}s (see ${DOCKERD_LOG}; raise DOCKERD_TIMEOUT if the machine is slow)"
    fi
    sleep 1
  done
}

main() {
  if daemon_answers; then
    log "Docker daemon already answers"
    return
  fi
  ensure_dockerd_installed
  start_dockerd
  wait_for_daemon
  log "Docker daemon is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
}

main "$@"
