#!/usr/bin/env bash
# Installs everything the build, tests and demo need, and does nothing (fast) when it is all there:
# Debian packages from deps/apt.txt, Python test tools from deps/requirements-test.txt into .venv.
# Go-built test infrastructure (kube-apiserver, etcd, helm) is built and cached by tests/e2e's own
# script, because only the e2e suite needs it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

want=$(grep -v '^\s*#' deps/apt.txt | sed '/^\s*$/d')
missing=()
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$top/.venv"
stamp="$venv/.requirements-stamp"
if [ ! -x "$venv/bin/python" ]; then
    echo "deps: creating $venv"
    /usr/bin/python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || ! cmp -s deps/requirements-test.txt "$stamp"; then
    echo "deps: installing Python test tools into .venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r deps/requirements-test.txt
    cp deps/requirements-test.txt "$stamp"
fi
