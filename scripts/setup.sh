#!/usr/bin/env bash
# Installs every Debian 12 package that building, the lab and the test suite need.
# Idempotent: safe to run again. Runs as root, or re-executes itself with sudo.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi

PACKAGES=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config clang-format git
  # libraries from the design card
  libboost-dev libmariadb-dev libssh2-1-dev nlohmann-json3-dev libsdbus-c++-dev libsdbus-c++-bin
  libspdlog-dev libfmt-dev libsystemd-dev
  # tests
  libgtest-dev libgmock-dev lintian
  clang-tidy cppcheck  # scripts/static-check.sh
  clang libclang-rt-14-dev  # fuzz targets (scripts/fuzz.sh): libFuzzer is in clang's runtime package
  # the real components the integration tests start themselves
  mariadb-server mariadb-client mha4mysql-manager mha4mysql-node openssh-server openssh-client
  dbus-daemon dbus-bin systemd procps iproute2 python3 python3-pymysql python3-dbus
  valgrind  # benchmarks (tests/bench): callgrind profiles of the RelWithDebInfo daemon
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start system-wide mariadb/sshd: the lab starts its own on loopback.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#PACKAGES[@]} packages already installed"
fi
