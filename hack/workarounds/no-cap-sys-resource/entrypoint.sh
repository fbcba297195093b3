#!/bin/sh
# Entrypoint of the offline kind node image: make /sys and cgroups writable, then exec systemd.
#
# Usage (image ENTRYPOINT): /usr/local/bin/entrypoint /sbin/init
#
# Written for this project. In this VM kind's `--privileged` nodes cannot start
# (no CAP_SYS_RESOURCE), so hack/workarounds/no-cap-sys-resource/docker runs them with explicit
# capabilities instead, which leaves /sys and the cgroup v1 hierarchies
# read-only; this script re-mounts them read-write before systemd takes over.
set -eu
log() { echo "[node-entrypoint] $*" >&2; }
mount -o remount,rw /sys 2>/dev/null || log "could not remount /sys rw"
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || log "could not remount /sys/fs/cgroup rw"
# Re-mount every read-only cgroup v1 hierarchy read-write (same controllers).
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") print $5, $(i + 3); break } }' \
  /proc/self/mountinfo | while read -r point superopts; do
  controllers="$(echo "${superopts}" | tr ',' '\n' | grep -Ev '^(rw|ro)$' | paste -sd, -)"
  if ! { umount "${point}" && mount -t cgroup -o "rw,nosuid,nodev,noexec,${controllers}" cgroup "${point}"; }; then
    log "could not remount ${point} (${controllers})"
  fi
done
if [ "$(stat -fc %T /sys/fs/cgroup)" != "cgroup2fs" ]; then
  # kind waits for this phrase (or systemd's multi-user target) in the node's log.
  log "detected cgroup v1"
  # kind's kubelet config uses cgroupRoot /kubelet (systemd: kubelet.slice); on
  # cgroup v1 systemd does not create it in every hierarchy, so do it here.
  for point in /sys/fs/cgroup/*/; do
    mkdir -p "${point}kubelet.slice" 2>/dev/null || continue
    for file in cpuset.cpus cpuset.mems; do
      if [ -f "${point}${file}" ]; then
        cat "${point}${file}" >"${point}kubelet.slice/${file}" 2>/dev/null || true
      fi
    done
  done
fi
mount --make-rshared / || log "could not make / shared"
[ -s /etc/machine-id ] || systemd-machine-id-setup >/dev/null 2>&1 || true
log "starting $*"
exec "$@"
