#!/usr/bin/env bash
# Builds the e2e suite's application image: Debian's minimal base (mmdebstrap --variant=minbase,
# the faster equivalent of debootstrap) with Debian's python3 and curl, packed as an OCI image
# layout with umoci. No container engine is involved. The pods of the e2e tests run their Python
# apps from it (and `helm test` its curl), so what the kubelet runs is an image, not this host.
#
# Cached in $PODPROF_K8S_CACHE/e2e-app-image (default ~/.cache/podprof): a stamp holds the
# recipe, a changed recipe rebuilds; concurrent runs wait on a lock. Prints the layout's path;
# the image's tag is the recipe's hash (printed by --tag).
#
#   tests/e2e/cluster/app_image.sh          build if missing, print the OCI layout directory
#   tests/e2e/cluster/app_image.sh --tag    print the tag only
set -euo pipefail

SUITE=bookworm
PACKAGES=python3,curl
# Documentation, manuals and locales are dead weight in a test image.
EXCLUDES=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/locale/*')
RECIPE="mmdebstrap minbase $SUITE $PACKAGES exclude ${EXCLUDES[*]} umoci-layout v1"
TAG=$(echo "$RECIPE" | sha256sum | cut -c1-12)
[ "${1:-}" = --tag ] && { echo "$TAG"; exit 0; }

cache_root=${PODPROF_K8S_CACHE:-$HOME/.cache/podprof}
dir="$cache_root/e2e-app-image"
layout="$dir/layout"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ "$(cat "$dir/.ok" 2>/dev/null)" = "$RECIPE" ] && [ -f "$layout/index.json" ]; then
    echo "$layout"
    exit 0
fi

log() { echo "app-image: $*" >&2; }
start=$SECONDS
work=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkgopts=()
for e in "${EXCLUDES[@]}"; do dpkgopts+=(--dpkgopt="path-exclude=$e"); done
log "mmdebstrap $SUITE minbase + $PACKAGES"
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" "${dpkgopts[@]}" \
    --format=tar "$SUITE" "$work/rootfs.tar" >&2
umoci init --layout "$work/layout"
umoci new --image "$work/layout:$TAG"
umoci raw add-layer --image "$work/layout:$TAG" "$work/rootfs.tar"
umoci config --image "$work/layout:$TAG" --config.cmd python3 --config.workingdir / \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umoci gc --layout "$work/layout"
rm -rf "$layout"
mv "$work/layout" "$layout"
echo "$RECIPE" >"$dir/.ok"
log "built in $((SECONDS - start)) s ($(du -sh "$layout" | cut -f1) compressed)"
echo "$layout"
