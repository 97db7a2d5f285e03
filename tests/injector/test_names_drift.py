"""The chart is YAML and cannot include the C header that defines every name
(include/podprof/names.h), so this test fails when the names it spells drift from the programs':
every injector config key the chart writes, every annotation it names and every variable it
mentions must be one the binaries themselves document (their generated references, which other
tests keep equal to the tables)."""
import re
import subprocess

from injector_harness import run_injector
from podprof_testenv import BUILD, ROOT

CHART = ROOT / "charts" / "podprof"


def chart_text():
    return {p: p.read_text() for p in CHART.rglob("*") if p.is_file()}


def injector_doc():
    r = run_injector("config-doc")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_chart_config_keys_are_injector_settings():
    keys = set(re.findall(r"^\| `--[a-z-]+[^|]*\| `[A-Z_]+` \| `([a-z_]+)` \|", injector_doc(), re.M))
    assert {"listen", "sampler_image", "default_env"} <= keys
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    block = helpers[helpers.index('define "podprof.injectorConfig"'):]
    block = block[:block.index("{{- end -}}")]
    written = set(re.findall(r'^\s*"([a-z_]+)" ', block, re.M))
    written |= set(re.findall(r'set \$cfg "([a-z_]+)"', block))
    assert written, "no config keys found in podprof.injectorConfig"
    assert written <= keys, f"the chart writes settings the injector does not have: {written - keys}"


def test_chart_annotations_are_the_injectors():
    doc = injector_doc()
    known = set(re.findall(r"^\| `(profiling\.datadoghq\.com/[a-z.]+)", doc, re.M))
    assert "profiling.datadoghq.com/enabled" in known
    for path, text in chart_text().items():
        for name in re.findall(r"profiling\.datadoghq\.com/[a-z]+(?:\.[a-z]+)*", text):
            assert name in known, f"{path.relative_to(ROOT)}: {name} is not an annotation the injector knows"


def test_chart_variables_are_read_by_a_program():
    names = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (ROOT / "docs" / "config-sampler.md").read_text(), re.M))
    exporter = subprocess.run([str(BUILD / "bin" / "podprof"), "export", "--config-doc"],
                              capture_output=True, text=True, check=True).stdout
    names |= set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", exporter, re.M))
    names |= set(re.findall(r"\| `(PODPROF_INJECTOR_[A-Z_]+)` \|", injector_doc()))
    assert {"DD_PROFILING_SAMPLE_RATE", "DD_AGENT_HOST", "PODPROF_INJECTOR_NAMESPACE"} <= names
    for path, text in chart_text().items():
        for name in re.findall(r"\b(?:DD|PODPROF)_[A-Z0-9_]*[A-Z0-9]\b", text):
            assert name in names, f"{path.relative_to(ROOT)}: {name} is read by no podprof program"
