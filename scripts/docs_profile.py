"""Prepares the demo profile that docs/pictures commits: one pprof file, its file names made
relative by stripping a prefix (the checkout's location), gzip-compressed without a timestamp so
the same profile always gives the same bytes. Reads and writes pprof with Google's protobuf
runtime, as the tests do."""
import argparse
import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "output"))
sys.path.insert(0, str(ROOT / "tests"))
from podprof_pprof import profile_class  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--strip", action="append", default=[], help="prefix to remove from strings")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("profile")
    args = ap.parse_args()
    prof = profile_class().FromString(gzip.decompress(Path(args.profile).read_bytes()))
    for i, s in enumerate(prof.string_table):
        for prefix in args.strip:
            if s.startswith(prefix):
                prof.string_table[i] = s[len(prefix):]
    Path(args.output).write_bytes(gzip.compress(prof.SerializeToString(deterministic=True), 9,
                                                mtime=0))


if __name__ == "__main__":
    main()
