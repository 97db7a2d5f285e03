"""Writes line-table fixtures for tests/unit/test_linetable.c from the running CPython.

For many real code objects (stdlib modules compiled by this interpreter) it prints the raw line
table and the line CPython itself reports for every instruction offset: PyCode_Addr2Line on
3.8/3.9, co_lines() on 3.10, co_positions() on 3.11+. Runs under every CPython 3.8-3.15 and the
free-threaded builds.

Format, one record per code object:
    code <format> <firstlineno> <hex table>
    <offset> <line>        (offset: bytes for formats 0/1, code units for format 2; line 0 = none)
    end
"""
import ctypes
import importlib.util
import sys

MODULES = ["argparse", "ast", "asyncio.base_events", "collections", "csv", "dataclasses",
           "decimal", "difflib", "email.message", "enum", "functools", "http.client", "inspect",
           "json.decoder", "logging", "pathlib", "pickle", "pydoc", "re", "shutil", "string",
           "subprocess", "tarfile", "textwrap", "threading", "typing", "unittest.case",
           "urllib.parse", "uuid", "zipfile"]
MAX_CODES = 2500


def walk(code, out):
    out.append(code)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            walk(const, out)


def expected(code):
    minor = sys.version_info[1]
    if minor <= 9:
        addr2line = ctypes.pythonapi.PyCode_Addr2Line
        addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
        addr2line.restype = ctypes.c_int
        return 0, code.co_lnotab, [(off, addr2line(code, off))
                                   for off in range(0, len(code.co_code), 2)]
    if minor == 10:
        pairs = []
        for start, end, line in code.co_lines():
            pairs += [(off, line or 0) for off in range(start, end, 2)]
        return 1, code.co_linetable, pairs
    return 2, code.co_linetable, [(unit, pos[0] or 0)
                                  for unit, pos in enumerate(code.co_positions())]


def main():
    codes = []
    # A few shapes the stdlib rarely has: long jumps in lines, huge line numbers, lambdas.
    extra = "x = 1\n" + "\n" * 300 + "def far():\n    return [i for i in range(3)]\n"
    extra += "\n" * 70000 + "g = lambda: (1,\n 2)\n"
    walk(compile(extra, "<extra>", "exec"), codes)
    for name in MODULES:
        spec = importlib.util.find_spec(name)
        source = spec.loader.get_source(name)
        walk(compile(source, spec.origin, "exec"), codes)
    out = sys.stdout
    for code in codes[:MAX_CODES]:
        fmt, table, pairs = expected(code)
        out.write("code %d %d %s\n" % (fmt, code.co_firstlineno, table.hex() or "-"))
        out.write("".join("%d %d\n" % p for p in pairs))
        out.write("end\n")


main()
