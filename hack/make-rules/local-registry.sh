#!/usr/bin/env bash
# A loopback OCI registry for a kind cluster: kind's documented local-registry pattern
# (https://kind.sigs.k8s.io/docs/user/local-registry/) with the CNCF distribution
# registry built from the Go module proxy, so nothing is pulled.
#   up    bin/registry (`hack/make-rules/install-tools.sh registry`) -> image
#         local/registry:<DISTRIBUTION_VERSION> (FROM scratch, images/registry/) ->
#         container tf-serving-registry on 127.0.0.1:5001, joined to docker's `kind`
#         network; every node of CLUSTER resolves localhost:5001 to it (containerd
#         hosts.toml, plain HTTP), and the cluster advertises it in the
#         kube-public/local-registry-hosting ConfigMap (KEP-1755). Idempotent.
#   down  removes the container and its storage volume (`make down` calls it).
# The host pushes to localhost:5001 (docker and helm treat loopback as plain HTTP).
#
# Usage: hack/make-rules/local-registry.sh up|down [--name CLUSTER]   (default cluster: tf-serving)
set -o errexit -o nounset -o pipefail
LOG_TAG="registry"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
export PATH="${REPO_ROOT}/bin:${PATH}"

readonly NAME=tf-serving-registry
readonly HOST_PORT=5001
readonly IMAGE="local/registry:${DISTRIBUTION_VERSION#v}"
readonly VOLUME="${NAME}-data"


build_image() {
  if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
    return
  fi
  "${REPO_ROOT}/hack/make-rules/install-tools.sh" registry
  local context
  context="$(mktemp -d)"
  cp "${REPO_ROOT}/images/registry/Dockerfile" "${REPO_ROOT}/images/registry/config.yml" "${context}/"
  cp "${REPO_ROOT}/bin/registry" "${context}/registry"
  log "building ${IMAGE} (FROM scratch, bin/registry)"
  DOCKER_BUILDKIT=0 docker build --quiet --build-arg "APP_TAG=${DISTRIBUTION_VERSION}" \
    -t "${IMAGE}" "${context}" >/dev/null
  rm -rf "${context}"
}

start_container() {
  if [[ "$(docker inspect -f '{{.State.Running}}' "${NAME}" 2>/dev/null)" == true ]]; then
    return
  fi
  docker rm -f "${NAME}" >/dev/null 2>&1 || true
  log "starting ${NAME} on 127.0.0.1:${HOST_PORT}"
  docker run --detach --restart=always --name "${NAME}" \
    --publish "127.0.0.1:${HOST_PORT}:5000" --volume "${VOLUME}:/var/lib/registry" \
    "${IMAGE}" >/dev/null
  local tries=0
  until curl --silent --fail "http://127.0.0.1:${HOST_PORT}/v2/" >/dev/null; do
    ((++tries < 50)) || die "${NAME} does not answer on 127.0.0.1:${HOST_PORT}: $(docker logs --tail 20 "${NAME}" 2>&1)"
    sleep 0.2
  done
}

# Nodes reach the registry by container name on the `kind` network; "localhost:5001"
# inside a node would be the node itself, so containerd maps that name to the container.
configure_nodes() {
  local cluster="$1" node dir="/etc/containerd/certs.d/localhost:${HOST_PORT}"
  local nodes
  nodes="$(kind get nodes --name "${cluster}")"
  [[ -n "${nodes}" ]] || die "no kind cluster '${cluster}': run \`make demo\` first"
  if [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "${NAME}")" == null ]]; then
    docker network connect kind "${NAME}"
  fi
  for node in ${nodes}; do
    docker exec -i "${node}" sh -c "mkdir -p '${dir}' && cat >'${dir}/hosts.toml'" <<TOML
[host."http://${NAME}:5000"]
  capabilities = ["pull", "resolve"]
TOML
  done
  kubectl --context "kind-${cluster}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${HOST_PORT}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML
  log "kind cluster '${cluster}' pulls localhost:${HOST_PORT}/... from ${NAME}"
}

main() {
  local command="${1:-}" cluster="${KIND_CLUSTER:-tf-serving}"
  shift || true
  if [[ "${1:-}" == --name ]]; then
    cluster="${2:?--name needs a cluster name}"
  fi
  case "${command}" in
    up)
      build_image
      start_container
      configure_nodes "${cluster}" ;;
    down)
      if docker inspect "${NAME}" >/dev/null 2>&1; then
        log "removing ${NAME} and its volume"
        docker rm -f "${NAME}" >/dev/null
      fi
      docker volume rm "${VOLUME}" >/dev/null 2>&1 || true ;;
    *) die "usage: $0 up|down [--name CLUSTER]" ;;
  esac
}

main "$@"
