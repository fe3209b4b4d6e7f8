#!/usr/bin/env bash
# Runs every test on a fresh Debian machine that has the .NET 10 SDK: installs what the tests use, then
# `dotnet test Kaito.sln`. Extra arguments go to dotnet test (e.g. --filter ...).
set -euo pipefail
cd "$(dirname "$0")"

# Real clients and servers the tests drive (Debian packages).
packages=()
command -v kubectl >/dev/null 2>&1 || packages+=(kubectl)
command -v docker-registry >/dev/null 2>&1 || packages+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || packages+=(apache2-utils)
command -v skopeo >/dev/null 2>&1 || packages+=(skopeo)
command -v busybox >/dev/null 2>&1 || packages+=(busybox)
# deploy/images/build-base-image.sh downloads Debian packages: it needs the package lists.
apt-cache show libssl3 >/dev/null 2>&1 || need_update=1
if ((${#packages[@]})) || [ -n "${need_update:-}" ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    if ((${#packages[@]})); then
        echo "Installing ${packages[*]} ..."
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
    fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Kaito.sln --nologo --blame-hang-timeout 5m "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for every test assembly together.
awk '/(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+/ {
        gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
