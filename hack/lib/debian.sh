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

# ensure_commands COMMAND:PACKAGE...: install the Debian PACKAGE of each missing
# COMMAND (root only; otherwise fail naming the apt-get line to run).
ensure_commands() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  ((${#missing[@]} == 0)) && return
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "ERROR: missing ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'" >&2
    return 1
  fi
  echo "installing ${missing[*]} from Debian packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >&2 \
    || { apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >&2; }
}
