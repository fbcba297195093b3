#!/usr/bin/env bash
# Create the virtualenv and install the project with its dev extras, and the test
# machinery in testing/ (the TF Serving STAND-IN, the benchmark), both editable.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
readonly VENV="${1:-.venv}"
readonly PYTHON="${PYTHON:-python3}"

cd "${REPO_ROOT}"
if [[ ! -x "${VENV}/bin/python" ]]; then
  echo "[deps] creating ${VENV} with $(${PYTHON} --version)" >&2
  "${PYTHON}" -m venv "${VENV}"
fi
echo "[deps] installing the project and dev dependencies (TensorFlow is large: a few minutes cold)" >&2
"${VENV}/bin/python" -m pip install --quiet --upgrade pip
# The TensorFlow pins of versions.env go in as requirements too: pip refuses to
# install when pyproject.toml pins a different version.
"${VENV}/bin/python" -m pip install --progress-bar on -e ".[dev]" -e ./testing \
  "tensorflow==${TENSORFLOW_VERSION}" \
  "tensorflow-serving-api==${TENSORFLOW_SERVING_API_VERSION}"
# setuptools leaves *.egg-info beside the sources; the editable installs keep their
# metadata in the venv, so the tree stays as git has it.
rm -rf -- ./*.egg-info testing/*.egg-info
touch "${VENV}/.installed"
