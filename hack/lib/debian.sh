#!/usr/bin/env bash
# Debian helpers shared by the image build scripts (sourced, not run).
#
# Usage: source "${REPO_ROOT}/hack/lib/debian.sh"; mirror="$(find_debian_mirror)"

# The host's own apt source for the main archive, so no mirror is hard-coded in the
# build scripts. DEBIAN_MIRROR overrides it. Fails (status 1, message on stderr)
# when neither names one.
find_debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
    echo "${DEBIAN_MIRROR}"
    return
  fi
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')"
  if [[ -z "${uri}" && -f /etc/apt/sources.list ]]; then
    uri="$(awk '/^deb / && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)"
  fi
  if [[ -z "${uri}" ]]; then
    echo "ERROR: no Debian mirror in /etc/apt/sources*: set DEBIAN_MIRROR=<archive URL>" >&2
    return 1
  fi
  echo "${uri}"
}
