"""docs/cli.md carries each subcommand's option table, and the sample types table, exactly as the
binary generates them."""
import re
import subprocess

import pytest

from podprof_pprof import BUILD, ROOT

BLOCK = re.compile(r"<!-- BEGIN generated: podprof (\w+) --help-markdown -->\n(.*?)"
                   r"<!-- END generated -->", re.S)
TYPES = re.compile(r"<!-- BEGIN generated: podprof flamegraph --types-markdown -->\n(.*?)"
                   r"<!-- END generated -->", re.S)
COMMANDS = ["collapse", "diff", "export", "flamegraph", "install", "run", "top"]


def doc_blocks():
    return dict(BLOCK.findall((ROOT / "docs" / "cli.md").read_text()))


def test_every_command_is_documented():
    assert sorted(doc_blocks()) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_doc_matches_the_option_table(command):
    out = subprocess.run([str(BUILD / "bin" / "podprof"), command, "--help-markdown"],
                         capture_output=True, text=True, check=True).stdout
    assert doc_blocks()[command] == out


def test_doc_matches_the_sample_types_table():
    out = subprocess.run([str(BUILD / "bin" / "podprof"), "flamegraph", "--types-markdown"],
                         capture_output=True, text=True, check=True).stdout
    assert TYPES.findall((ROOT / "docs" / "cli.md").read_text()) == [out]
