#!/usr/bin/env bash
# `make demo`: the whole podprof path on one machine, no cluster needed.
#   1. the injector mutates a sample pod, as the API server would ask it to;
#   2. the init container's command installs the library into the pod's "emptyDir";
#   3. the exporter sidecar starts against a strict local agent double (the tests' own);
#   4. the app runs with the env the injector gave its container: the sampler profiles it and
#      writes into the spool, the exporter tags the profile and uploads it;
#   5. a profile summary prints, and a flame graph of it is drawn.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out="$top/$build/demo"
rm -rf "$out"
mkdir -p "$out/opt-podprof" "$out/spool" "$out/podinfo"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

python=$(scripts/demo_python.sh)
venv_python="$top/.venv/bin/python"

echo "== 1. podprof-injector mutates demo/pod.yaml (a pod of Deployment 'checkout', opted in)"
"$build/bin/podprof-injector" mutate -f demo/pod.yaml >"$out/review.json"
"$build/bin/podprof-injector" mutate --patched -f demo/pod.yaml >"$out/pod.json"
"$venv_python" scripts/demo_pod_summary.py "$out/review.json" "$out/pod.json"

echo
echo "== 2. init container podprof-init"
"$build/bin/podprof" install "$out/opt-podprof"

echo
echo "== 3. sidecar podprof-exporter, uploading to a local agent double"
port=$("$venv_python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The Downward API volume's labels file, as the kubelet writes it.
"$venv_python" -c '
import json, sys
labels = json.load(open(sys.argv[1]))["metadata"].get("labels", {})
print("\n".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())))' "$out/pod.json" \
    >"$out/podinfo/labels"
maps=(/opt/podprof="$out/opt-podprof" /var/run/podprof="$out/spool" /etc/podprof/podinfo="$out/podinfo")
mapfile -t exporter_env < <("$venv_python" scripts/demo_pod_env.py "$out/pod.json" podprof-exporter "${maps[@]}")
entity=$(printf '%s\n' "${exporter_env[@]}" | sed -n 's/^DD_ENTITY_ID=//p')
"$venv_python" tests/exporter/agent_double.py --port "$port" --count 1 --expect-entity-id "$entity" \
    >"$out/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
for _ in $(seq 50); do grep -q listening "$out/agent.log" && break; sleep 0.1; done
env "${exporter_env[@]}" DD_TRACE_AGENT_PORT="$port" \
    "$build/bin/podprof" export --spool "$out/spool" --keep-pprof &
exporter=$!
pids+=("$exporter")
echo "exporter pid $exporter, agent double on 127.0.0.1:$port"

echo
echo "== 4. container app: $("$python" -c 'import platform; print("CPython", platform.python_version())') demo/app.py with the env the injector set"
mapfile -t app_env < <("$venv_python" scripts/demo_pod_env.py "$out/pod.json" app "${maps[@]}")
printf '  %s\n' "${app_env[@]}"
env "${app_env[@]}" "$python" demo/app.py
wait "$agent" || { echo "demo: the agent double received no valid upload"; cat "$out/agent.log"; exit 1; }
cat "$out/agent.log"
kill -TERM "$exporter"
wait "$exporter" || true

echo
echo "== 5. profile summary (podprof top) and flame graph (podprof flamegraph)"
"$build/bin/podprof" top "$out"/spool/*.pprof
"$build/bin/podprof" flamegraph -o "$out/flamegraph.svg" "$out"/spool/*.pprof
echo "open $out/flamegraph.svg in a browser: click a frame to zoom, Search to find a function"
