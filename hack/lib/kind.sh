#!/usr/bin/env bash
# kind helpers shared by hack/make-rules/kind-up.sh and hack/make-rules/demo.sh (sourced, not run).
#
# Usage: source "${REPO_ROOT}/hack/lib/kind.sh"; use_docker_shim_if_needed IMAGE

# kind starts and enters its node containers with --privileged. Where a privileged
# root container cannot start (this project's VMs lack CAP_SYS_RESOURCE: runc says
# "unable to apply caps"), put hack/workarounds/no-cap-sys-resource/docker first on PATH so kind's
# docker calls get every capability but that one. Probed with IMAGE (a local image
# that has /bin/true); prints one line saying which way it went, unless
# KIND_SHIM_QUIET=1 (a caller that probes and says so itself).
use_docker_shim_if_needed() {
  local image="$1" shim_dir err
  if err="$(docker run --rm --privileged --user 0 --entrypoint /bin/true "${image}" 2>&1)"; then
    [[ "${KIND_SHIM_QUIET:-0}" == 1 ]] || echo "[kind] privileged containers start here: kind runs with plain docker" >&2
    return
  fi
  if [[ "${err}" != *"apply caps"* ]]; then
    echo "[kind] ERROR: probe 'docker run --privileged ${image} /bin/true' failed: ${err}" >&2
    return 1
  fi
  shim_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../workarounds/no-cap-sys-resource" && pwd)"
  [[ "${KIND_SHIM_QUIET:-0}" == 1 ]] ||
    echo "[kind] privileged containers fail here (runc: unable to apply caps): kind runs through ${shim_dir}/docker" >&2
  export PATH="${shim_dir}:${PATH}"
}
