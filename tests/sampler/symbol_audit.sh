#!/usr/bin/env bash
# Fails when libpodprof.so needs a glibc newer than the 2.17 baseline, needs a library other
# than libc/libpthread/libdl, or exports any symbol but the interposers exports.map lists.
set -euo pipefail
lib=$1
dyn=$(objdump -T "$lib")
max=$(grep -o 'GLIBC_[0-9.]*' <<<"$dyn" | sed 's/GLIBC_//' | sort -V | tail -1)
if [ "$(printf '%s\n2.17\n' "$max" | sort -V | tail -1)" != "2.17" ]; then
    echo "symbol audit: $lib needs GLIBC_$max (> 2.17):" >&2
    grep -E "GLIBC_$max" <<<"$dyn" >&2
    exit 1
fi
# The interposers the library means to have: the names under global: in exports.map.
map=$(dirname "$0")/../../sampler/lib/exports.map
intended=$(awk '/global:/ {g = 1; next} /local:/ {g = 0} g && /^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;/ {
    gsub(/[[:space:];]/, ""); print}' "$map" | sort)
exported=$(objdump -T "$lib" | awk '$4 != "*UND*" && $2 == "g" {print $NF}' | sort |
    comm -23 - <(echo "$intended"))
if [ -n "$exported" ]; then
    echo "symbol audit: $lib exports unintended symbols:" >&2
    echo "$exported" >&2
    exit 1
fi
needed=$(objdump -p "$lib" | awk '$1 == "NEEDED" {print $2}' | sort | tr '\n' ' ')
for n in $needed; do
    case $n in
    libc.so.6 | libpthread.so.0 | libdl.so.2) ;;
    *) echo "symbol audit: $lib needs $n (only libc is allowed)" >&2; exit 1 ;;
    esac
done
echo "symbol audit: $lib ok (max GLIBC_$max, exports only: $(echo $intended), needs: $needed)"
