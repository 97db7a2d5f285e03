"""docs/cli.md carries each subcommand's option table exactly as the binary generates it."""
import re
import subprocess

import pytest

from podprof_pprof import BUILD, ROOT

BLOCK = re.compile(r"<!-- BEGIN generated: podprof (\w+) --help-markdown -->\n(.*?)"
                   r"<!-- END generated -->", re.S)


def doc_blocks():
    return dict(BLOCK.findall((ROOT / "docs" / "cli.md").read_text()))


def test_every_command_is_documented():
    assert sorted(doc_blocks()) == ["export", "install", "run", "top"]


@pytest.mark.parametrize("command", ["export", "install", "run", "top"])
def test_doc_matches_the_option_table(command):
    out = subprocess.run([str(BUILD / "bin" / "podprof"), command, "--help-markdown"],
                         capture_output=True, text=True, check=True).stdout
    assert doc_blocks()[command] == out
