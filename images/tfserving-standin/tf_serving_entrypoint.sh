#!/bin/bash
# STAND-IN image (tests only): the entrypoint tensorflow/serving's image runs,
# same shell and same command line as the script its Dockerfile writes to
# /usr/bin/tf_serving_entrypoint.sh (tensorflow_serving/tools/docker/Dockerfile
# at 2.20.0). MODEL_NAME and MODEL_BASE_PATH come from the image's ENV (model,
# /models) or `docker run -e`; extra arguments are appended, so a repeated flag
# overrides the default (the last one wins).
#
# Kept as upstream has it, on purpose: no `exec`, so bash stays PID 1 and the
# server is its child. SIGTERM (docker stop, the kubelet) reaches only bash,
# which as PID 1 without a trap ignores it; the server dies at SIGKILL. Unquoted
# expansions as upstream, too. The chart avoids all this with
# `command: [tensorflow_model_server]`.
# shellcheck disable=SC2086

tensorflow_model_server --port=8500 --rest_api_port=8501 \
  --model_name=${MODEL_NAME} --model_base_path=${MODEL_BASE_PATH}/${MODEL_NAME} \
  "$@"
