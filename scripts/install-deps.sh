#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the C client need, if any is missing.
# Runs apt-get as root (directly, or through sudo).
set -euo pipefail
PACKAGES=(libsqlite3-dev sqlite3 protobuf-compiler libprotobuf-dev protobuf-c-compiler libprotobuf-c-dev pkg-config valgrind postgresql openssl curl chromium chromium-driver "$@")
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then exit 0; fi
echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
