#!/usr/bin/env bash
# The flame graphs docs/user-guide.md shows, drawn by the current podprof from a real profile of
# the demo app (demo/app.py).
#   scripts/docs_pictures.sh BUILD            profile the demo again (docs/pictures/demo.pprof),
#                                             then redraw the pictures (`make docs-pictures`)
#   scripts/docs_pictures.sh BUILD --redraw DIR
#                                             only redraw, from the committed profile, into DIR
# Sampling differs from run to run, so the profile is committed and the pictures are a pure
# function of it and of the generator: tests/pictures/test_docs_pictures.py redraws them this way
# and compares the bytes with the committed ones.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
profile=docs/pictures/demo.pprof
podprof="$build/bin/podprof"

draw() {
    local dir=$1
    "$podprof" flamegraph --title "podprof flamegraph: demo/app.py, CPU time" \
        -o "$dir/demo-cpu.svg" "$profile"
    "$podprof" flamegraph --type wall --title "podprof flamegraph: demo/app.py, wall time" \
        -o "$dir/demo-wall.svg" "$profile"
}

if [ "${2:-}" = "--redraw" ]; then
    draw "$3"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=$(scripts/demo_python.sh)
echo "== profiling demo/app.py with $("$python" -c 'import platform; print("CPython", platform.python_version())')"
"$podprof" run --output "$work/demo" -- "$python" demo/app.py
# The profile must not carry this checkout's location: its files become relative to the root.
.venv/bin/python scripts/docs_profile.py --strip "$top/" -o "$profile" "$work"/demo.*.pprof
draw docs/pictures
ls -l docs/pictures
