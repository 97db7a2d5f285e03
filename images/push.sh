#!/usr/bin/env bash
# Pushes the OCI layouts `make images` wrote to a registry with skopeo (no container engine):
#   images/push.sh REGISTRY/PREFIX [skopeo copy options...]
# e.g. images/push.sh registry.example.com/podprof  ->  registry.example.com/podprof/podprof-sampler:0.1.0
# then: helm install ... --set injector.image.repository=REGISTRY/PREFIX/podprof-injector \
#                        --set sampler.image.repository=REGISTRY/PREFIX/podprof-sampler
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 REGISTRY/PREFIX [skopeo copy options...]" >&2; exit 2; }
prefix=${1%/}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
for name in podprof-injector podprof-sampler; do
    layout="$build/images/$name"
    [ -f "$layout/index.json" ] || { echo "$layout missing: run make images" >&2; exit 1; }
    tag=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$layout/index.json")
    echo "pushing $name:$tag to $prefix/$name:$tag"
    skopeo copy "$@" "oci:$layout:$tag" "docker://$prefix/$name:$tag"
done
