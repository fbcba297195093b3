#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the gateway's browser test
# (tests/gateway/test_browser_standin.py). Idempotent; needs root and apt.
#
# Usage: hack/make-rules/install-browser.sh
set -o errexit -o nounset -o pipefail
LOG_TAG="browser"
# shellcheck source=hack/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"


if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  log "chromium and chromedriver present"
  exit 0
fi
if ((EUID != 0)); then
  log "ERROR: run as root, or install them yourself: apt-get install -y chromium chromium-driver"
  exit 1
fi
log "installing chromium and chromium-driver (Debian packages)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
