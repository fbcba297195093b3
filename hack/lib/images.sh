#!/usr/bin/env bash
# Local image builds shared by hack/build/ and hack/workarounds/no-registry/ (sourced, not
# run): the content-hash label that lets a rerun skip an unchanged image, and the build
# that never contacts a registry.
#
# Usage: source "${REPO_ROOT}/hack/lib/images.sh"

# shellcheck disable=SC2034  # used by the sourcing scripts
readonly HASH_LABEL="io.tf-serving-k8s.content-hash"

# image_content_hash IMAGE: its content-hash label ("" when absent or no such image).
image_content_hash() {
  docker image inspect --format "{{ index .Config.Labels \"${HASH_LABEL}\" }}" "$1" 2>/dev/null || true
}

# build_local_image IMAGE CONTEXT [DOCKER_BUILD_ARG...]: the classic builder, which uses a
# local base image as it is and pulls only a base that is missing.
build_local_image() {
  local image="$1" context="$2"
  shift 2
  DOCKER_BUILDKIT=0 docker build --quiet "$@" --tag "${image}" "${context}" >/dev/null
}
