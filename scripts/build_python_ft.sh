#!/bin/sh
# The free-threaded CPython 3.13t the sampler tests run: no distribution packages a
# free-threaded build, so it is built from the source of Debian's python3.13 package (the testing
# suite's), configured as upstream documents it, `--disable-gil --enable-shared`, with the
# internal headers installed like every other interpreter the tests use. Debian's own patches
# are left out: they adapt the build to Debian's packaging (install schemes, multiarch paths),
# not the interpreter's structures.
#
#   scripts/build_python_ft.sh        prints the install prefix (bin/python3.13t), built if needed
#
# Built once per source version and option set into ~/.cache/podprof (a lock serialises
# concurrent builders; the prefix's name is a hash of the recipe); nothing on the machine is
# changed (the source is fetched with a private apt configuration).
set -eu

CACHE="${PODPROF_CACHE:-$HOME/.cache/podprof}"
SUITE=testing
OPTIONS="--disable-gil --enable-shared --without-ensurepip --disable-test-modules"
RECIPE="python3.13 $SUITE $OPTIONS v1"
KEY=$(printf '%s\n' "$RECIPE" | sha256sum | cut -c1-12)
OUT="$CACHE/python3.13t-$KEY"

built() { [ -x "$OUT/bin/python3.13t" ] && [ "$(cat "$OUT/.recipe" 2>/dev/null)" = "$RECIPE" ]; }

if built; then
    echo "$OUT"
    exit 0
fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.python3.13t.lock"
flock 9
if built; then
    echo "$OUT"
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$(dirname "$0")/debian_source.sh" "$WORK" python3.13 "$SUITE"
cd "$WORK"
dpkg-source --skip-patches -x python3.13_*.dsc src >&2
cd src
# rpath: the interpreter finds its own libpython wherever the cache lives.
# shellcheck disable=SC2086
nice -n 10 ./configure --prefix="$OUT" $OPTIONS LDFLAGS="-Wl,-rpath,$OUT/lib" >&2
nice -n 10 make -s -j"$(nproc)" >&2
rm -rf "$OUT"
nice -n 10 make -s install >&2
printf '%s\n' "$RECIPE" >"$OUT/.recipe"
echo "$OUT"
