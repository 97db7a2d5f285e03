#!/usr/bin/env bash
# `make demo`: the whole podprof path on one machine, no cluster needed.
#   1. the injector mutates a sample pod, as the API server would ask it to;
#   2. the init container's command installs the library, the app runs with the pod's LD_PRELOAD
#      and DD_PROFILING_* env, and the sampler writes profiles into the spool;
#   3. the exporter sidecar uploads them to a local agent double;
#   4. a profile summary prints.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out="$build/demo"
rm -rf "$out"
mkdir -p "$out/opt-podprof" "$out/spool"

# Any CPython 3.8-3.13 works; prefer a pyenv one, fall back to the system python3.
python=""
if command -v pyenv >/dev/null 2>&1; then
    for v in 3.12 3.11 3.13 3.10 3.9 3.8; do
        cand=$(ls -d "$(pyenv root)"/versions/$v.*/bin/python3 2>/dev/null | head -n 1 || true)
        if [ -n "$cand" ]; then python=$cand; break; fi
    done
fi
[ -n "$python" ] || python=$(command -v python3)

echo "== 1. podprof-injector mutates demo/pod.yaml (an annotated pod from a Deployment)"
"$build/bin/podprof-injector" mutate -f demo/pod.yaml >"$out/review.json"
"$build/bin/podprof-injector" mutate --patched -f demo/pod.yaml >"$out/pod.json"
"$python" scripts/demo_pod_summary.py "$out/review.json" "$out/pod.json"

echo
echo "== 2. init container: podprof install; app: $("$python" -c 'import platform; print("CPython", platform.python_version())') with the pod's env"
"$build/bin/podprof" install "$out/opt-podprof"
# The app container's env as the injector set it, with paths mapped onto this machine.
env LD_PRELOAD="$top/$out/opt-podprof/libpodprof.so" \
    DD_PROFILING_ENABLED=true \
    DD_PROFILING_OUTPUT_PPROF="$top/$out/spool/profile" \
    DD_PROFILING_UPLOAD_INTERVAL=60 \
    DD_SERVICE=demo-checkout DD_ENV=demo DD_VERSION=1.0 \
    DD_PROFILING_K8S_CONTAINER=app \
    "$python" demo/app.py
ls -1 "$out/spool"

echo
echo "== 3. profile summary (podprof top)"
"$build/bin/podprof" top "$out"/spool/*.pprof
