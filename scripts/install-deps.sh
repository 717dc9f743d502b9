#!/usr/bin/env bash
# Installs rt's build and test dependencies from Debian packages (Debian 12).
# Idempotent: when every package is already installed it does nothing, so
# `make test` stays fast on a prepared machine. Runs apt-get as root, or via
# sudo when available.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git clang-format
  libboost1.81-dev libboost-url1.81-dev
  libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev
  libkyotocabinet-dev kyotocabinet-utils catch2 libssl-dev
  libbenchmark-dev curl procps nginx-light openssl
  clang-14 libfuzzer-14-dev
  etcd-server etcd-client lintian help2man prometheus gnuplot-nox nftables iproute2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
