#!/bin/sh
# CPython 3.14 and 3.15 for the sampler tests: Debian's unstable suite packages them, built
# against a newer glibc than this machine's, so they live in a Debian sid chroot made with
# debootstrap (minbase) from Debian's own archive. The library under test keeps its glibc 2.17
# baseline and loads there as it does on the host.
#
#   scripts/pychroot.sh build              prints the chroot's directory (built if needed)
#   scripts/pychroot.sh exec PROG ARGS...  runs PROG (a path inside the chroot) in it
#
# The chroot is built once per recipe into ~/.cache/podprof (a lock serialises concurrent
# builders, a stamp holds the recipe) and is never written to afterwards: `exec` runs in a
# private mount namespace where the chroot is an overlay whose writable layer is a tmpfs, with
# /proc, /dev and the host paths a test needs (the checkout, the build tree, /tmp, the podprof
# cache, the working directory, and PODPROF_CHROOT_BINDS, colon-separated) bind-mounted at the
# same paths, and every library named in LD_PRELOAD (the library under test, the sanitizer
# runtimes) likewise. Every mount belongs to that namespace and disappears with the process; the
# process keeps the caller's pid (unshare and chroot exec), so signals and pids work as on the
# host.
set -eu

CACHE="${PODPROF_CACHE:-$HOME/.cache/podprof}"
SUITE=sid
MIRROR=http://deb.debian.org/debian
# libpython*-dev: the internal headers the layout test compiles offsetof() against.
PACKAGES="python3.14,python3.15,libpython3.14-dev,libpython3.15-dev"
RECIPE="debootstrap --variant=minbase $SUITE $MIRROR $PACKAGES v1"
KEY=$(printf '%s\n' "$RECIPE" | sha256sum | cut -c1-12)
DIR="$CACHE/pychroot-$KEY"
TOP=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "pychroot: $*" >&2; }

built() { [ "$(cat "$DIR/.recipe" 2>/dev/null)" = "$RECIPE" ]; }

build() {
    if built; then
        echo "$DIR"
        return
    fi
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.pychroot.lock"
    flock 9
    if ! built; then
        log "debootstrap $SUITE with $PACKAGES into $DIR"
        rm -rf "$DIR"
        mkdir -p "$DIR/scratch"
        nice -n 10 debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$DIR/root.tmp" \
            "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
            { tail -n 30 "$DIR/debootstrap.log" >&2; exit 1; }
        # Nothing of the archive is needed afterwards.
        rm -rf "$DIR/root.tmp/var/cache/apt/archives/"*.deb "$DIR/root.tmp/var/lib/apt/lists/"*_*
        mv "$DIR/root.tmp" "$DIR/root"
        printf '%s\n' "$RECIPE" >"$DIR/.recipe"
    fi
    exec 9>&-
    echo "$DIR"
}

# Runs "$@" inside the chroot at $1 (the chroot's cache directory), see the header.
run_inside() {
    dir=$1
    shift
    preload=$(printf '%s' "${LD_PRELOAD:-}" | tr ' ' ':')
    binds="$TOP:${PODPROF_BUILD:-$TOP/build}:/tmp:$CACHE:$(pwd)${PODPROF_CHROOT_BINDS:+:$PODPROF_CHROOT_BINDS}${preload:+:$preload}"
    exec unshare --mount --propagation private /bin/sh -eu -c '
        dir=$1 binds=$2
        shift 2
        mount -t tmpfs -o mode=0755 podprof-chroot "$dir/scratch"
        mkdir "$dir/scratch/upper" "$dir/scratch/work"
        mount -t overlay podprof-chroot \
            -o "lowerdir=$dir/root,upperdir=$dir/scratch/upper,workdir=$dir/scratch/work" \
            "$dir/root"
        root=$dir/root
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        IFS=:
        for p in $binds; do
            [ -e "$p" ] || continue
            if [ -d "$p" ]; then
                mkdir -p "$root$p"
            elif [ -e "$root$p" ]; then
                continue # a file under a directory bound before: already the host file
            else
                mkdir -p "$(dirname "$root$p")"
                : >"$root$p"
            fi
            mount --rbind "$p" "$root$p"
        done
        unset IFS
        cd_to=$(pwd)
        exec chroot "$root" /bin/sh -c "cd \"\$0\" 2>/dev/null || cd /; exec \"\$@\"" "$cd_to" "$@"
    ' podprof-chroot "$dir" "$binds" "$@"
}

case "${1:-}" in
build)
    build
    ;;
exec)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 exec PROG [ARGS...]" >&2; exit 2; }
    dir=$(build)
    run_inside "$dir" "$@"
    ;;
*)
    echo "usage: $0 build | exec PROG [ARGS...]" >&2
    exit 2
    ;;
esac
