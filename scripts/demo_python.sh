#!/usr/bin/env bash
# Prints the CPython the demo runs: any 3.8-3.13 works; a pyenv one is preferred, else the
# system python3. Shared by `make demo` and `make docs-pictures`.
set -euo pipefail
if command -v pyenv >/dev/null 2>&1; then
    for v in 3.12 3.11 3.13 3.10 3.9 3.8; do
        cand=$(ls -d "$(pyenv root)"/versions/$v.*/bin/python3 2>/dev/null | head -n 1 || true)
        if [ -n "$cand" ]; then echo "$cand"; exit 0; fi
    done
fi
command -v python3
