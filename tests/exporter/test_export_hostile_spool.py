"""The spool is writable by the application container: whatever it holds under a spool name (a
gzip bomb, a protobuf that decodes to a hundred times its size, a FIFO, a symbolic link, a
directory, another user's file, a truncated or huge file, malformed metadata, a flood of files),
the running exporter refuses it with one line, counts it, never retries it, stays under the
memory limit the chart gives its container (VmHWM read from /proc), and still uploads the good
profile written after it to the strict agent double."""
import base64
import gzip
import json
import os
import subprocess
import zlib
from functools import partial
from pathlib import Path

import pprof_proto
import pytest
import yaml

from agent_double import AgentDouble
from exporter_helpers import spool  # noqa: F401  (fixture)
from exporter_helpers import (PODPROF, ROOT, SANITIZED, Exporter, run_once, wait_until,
                              write_pair)

MIB = 1 << 20


def chart_exporter_limit_mib():
    """The exporter's memory limit in the chart's default values (e.g. "48Mi")."""
    values = yaml.safe_load((ROOT / "charts" / "podprof" / "values.yaml").read_text())
    text = str(values["sampler"]["exporterResources"]["memory"])
    assert text.endswith("Mi"), text
    return int(text[:-2])


LIMIT_MIB = chart_exporter_limit_mib()
PEAKS = {}  # attack -> VmHWM in KiB, printed at the end for docs/exporter.md


def vm_hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def gzip_stream(chunks):
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [c.compress(x) for x in chunks]
    out.append(c.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def zero_bomb():
    """About 1 MiB of gzip inflating to 1 GiB."""
    return gzip_stream(bytes(MIB) for _ in range(1024))


@pytest.fixture(scope="module")
def decode_bomb():
    """A few KiB of gzip inflating to 6 MiB of protobuf: three million empty `sample` fields
    (tag 0x12, length 0), each of which protobuf-c unpacks into a structure of ~80 bytes."""
    return gzip_stream(b"\x12\x00" * (MIB // 2) for _ in range(6))


def attack(spool, name, plant, *, expect_kind, expect_lines=1, gone=True, extra_env=None):
    """Starts the exporter, plants the attack, waits until it is dealt with, then writes a good
    pair and checks that it is uploaded with the fault counted. Returns the exporter's stderr."""
    env = {"PODPROF_EXPORT_MEMORY_LIMIT_MIB": LIMIT_MIB, **(extra_env or {})}
    with AgentDouble() as agent, Exporter(spool, DD_TRACE_AGENT_URL=agent.url, **env) as ex:
        planted = plant(spool)
        if gone:
            assert wait_until(lambda: not any(p.exists() or p.is_symlink() for p in planted),
                              timeout=60), sorted(os.listdir(spool))
        else:  # cannot be removed: wait for two rescans to show it is not logged again
            assert wait_until(lambda: not any(p.suffix == ".json" and p.exists()
                                              for p in spool.iterdir()), timeout=60)
            wait_until(lambda: False, timeout=2.5)
        assert ex.alive(), "the exporter died"
        write_pair(spool, pid=777, seq=1)
        assert wait_until(lambda: any(u.tags.get("process_id") == "777"
                                      for u in agent.wait_for(1, timeout=1)), timeout=60)
        assert ex.alive()
        peak = vm_hwm_kib(ex.proc.pid)
        assert ex.stop() == 0
        ups = agent.wait_for(1)
    PEAKS[name] = peak
    if not SANITIZED:  # ASan's shadow memory and quarantine are not the program's
        assert peak < LIMIT_MIB * 1024, f"{name}: VmHWM {peak} KiB, limit {LIMIT_MIB} MiB"
    good = [u for u in ups if u.tags.get("process_id") == "777"]
    assert len(ups) == 1 and len(good) == 1 and good[0].errors == [], \
        "only the good profile is uploaded"
    faults = good[0].event["internal"]["exporter"]["faults"]
    assert faults.get(expect_kind, 0) >= 1, faults
    lines = [l for l in ex.stderr.splitlines() if f"[{expect_kind}]" in l]
    assert len(lines) == expect_lines, ex.stderr
    return ex.stderr


def pair_with(spool, seq, pprof=None, meta_text=None, plant_pprof=None, plant_json=None):
    """A pair whose .pprof and .json are what the attack wants when they appear: prepared outside
    the spool and moved in .pprof first, .json last (as the sampler does), so the exporter never
    sees a good pair before it is tampered with. plant_*(prepared, destination) replace a move."""
    scratch = spool.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    base, _ = write_pair(scratch, pid=666, seq=seq, pprof=pprof)
    src = [Path(str(base) + ".pprof"), Path(str(base) + ".json")]
    dst = [spool / src[0].name, spool / src[1].name]
    if meta_text is not None:
        src[1].write_text(meta_text)
    for prepared, dest, plant in zip(src, dst, (plant_pprof, plant_json)):
        (plant or os.rename)(prepared, dest)
    return dst


# ---- defect 7: what inflates or decodes beyond the memory limit ----

def test_default_limit_is_the_charts_and_the_setting_wins(spool):
    """Without the setting the limit is the container's cgroup limit, or the chart's default when
    there is none; the setting wins over both."""
    help_text = subprocess.run([str(PODPROF), "export", "--help"], capture_output=True,
                               text=True, timeout=30).stdout
    assert f"or {LIMIT_MIB} MiB when there is none" in help_text
    cases = (({}, None), ({"PODPROF_EXPORT_MEMORY_LIMIT_MIB": 100}, "100 MiB (setting)"))
    for env, expect in cases:
        r = run_once(spool, DD_PROFILING_LOG_LEVEL="debug", **env)
        line = [l for l in r.stderr.splitlines() if "memory limit" in l]
        assert len(line) == 1, r.stderr
        if expect:
            assert expect in line[0]
        elif "(default)" in line[0]:
            assert f"memory limit {LIMIT_MIB} MiB (default)" in line[0]
        else:
            assert "(cgroup)" in line[0]

def test_gzip_bomb_dropped_under_the_limit(spool, zero_bomb):
    err = attack(spool, "gzip bomb (1 MiB -> 1 GiB)",
                 lambda s: pair_with(s, 1, pprof=zero_bomb), expect_kind="too_large")
    assert "decompresses to more than 8 MiB" in err


def test_protobuf_decode_bomb_dropped_under_the_limit(spool, decode_bomb):
    err = attack(spool, f"decode bomb ({len(decode_bomb) >> 10} KiB -> 6 MiB, 3 M samples)",
                 lambda s: pair_with(s, 1, pprof=decode_bomb), expect_kind="too_large")
    assert "decoding it takes more than" in err


def test_metadata_of_a_million_nodes_dropped_under_the_limit(spool):
    start = '"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:01:00Z"'
    nodes = ",".join(["0"] * 500_000)
    err = attack(spool, "metadata JSON of 500 k nodes (1 MiB)",
                 lambda s: pair_with(s, 1, meta_text=f'{{{start}, "x": [{nodes}]}}'),
                 expect_kind="too_large")
    assert "parsing it takes more than" in err


def test_huge_sparse_pprof_refused_unread(spool):
    def sparse(prepared, dest):
        with open(prepared, "r+b") as f:
            f.truncate(4 << 30)  # sparse: costs no disk, but 4 GiB to whoever reads it
        os.rename(prepared, dest)
    err = attack(spool, "4 GiB sparse .pprof", partial(pair_with, seq=1, plant_pprof=sparse),
                 expect_kind="too_large")
    assert "profile.666.1.pprof: 4294967296 bytes" in err


def test_largest_profile_that_fits_is_delivered_under_the_limit(spool):
    """A valid profile near the inflated bound (7 MiB of protobuf, mostly incompressible names,
    so the zstd frame and libcurl's copy of it are large too) is still delivered, within the
    limit: the bounds leave room for what a real profile needs."""
    names = [base64.b64encode(os.urandom(2200)).decode() for _ in range(2500)]
    stacks = [([(n, "/app/big.py", 1)], 1000, 1000) for n in names]
    pprof = gzip.compress(pprof_proto.make_profile(stacks).SerializeToString(), 1)
    env = {"PODPROF_EXPORT_MEMORY_LIMIT_MIB": LIMIT_MIB}
    with AgentDouble() as agent, Exporter(spool, DD_TRACE_AGENT_URL=agent.url, **env) as ex:
        write_pair(spool, pid=888, seq=1, pprof=pprof)
        ups = agent.wait_for(1, timeout=60)
        peak = vm_hwm_kib(ex.proc.pid)
        assert ex.stop() == 0
    PEAKS["valid 7 MiB profile (delivered)"] = peak
    assert len(ups) == 1 and ups[0].errors == [], ex.stderr
    assert set(names) <= set(ups[0].profile.string_table)
    if not SANITIZED:
        assert peak < LIMIT_MIB * 1024, f"VmHWM {peak} KiB, limit {LIMIT_MIB} MiB"


# ---- defect 8: what is not a regular file of the expected owner ----

def fifo_at(prepared, dest):
    os.mkfifo(dest)  # no writer: a blocking open would wait forever


def link_to(target):
    return lambda prepared, dest: dest.symlink_to(target)


def test_fifo_named_like_a_profile_never_blocks(spool):
    err = attack(spool, "FIFO as .pprof", partial(pair_with, seq=1, plant_pprof=fifo_at),
                 expect_kind="unsafe_spool")
    assert "a FIFO, not a regular file" in err


def test_fifo_named_like_metadata_never_blocks(spool):
    attack(spool, "FIFO as .json", partial(pair_with, seq=1, plant_json=fifo_at),
           expect_kind="unsafe_spool")


def test_symlink_to_dev_zero_not_followed(spool):
    err = attack(spool, "symlink to /dev/zero",
                 partial(pair_with, seq=1, plant_pprof=link_to("/dev/zero")),
                 expect_kind="unsafe_spool")
    assert "a symbolic link" in err
    assert Path("/dev/zero").is_char_device()


def test_symlink_to_a_file_outside_the_spool_not_uploaded(spool, tmp_path):
    """A link to a readable profile elsewhere (a secret, for an attacker): never read, never sent,
    and the target is left alone."""
    secret = tmp_path / "secret.pprof"
    secret.write_bytes(gzip.compress(b"\x32\x00" + bytes(64 * MIB)))  # large, valid gzip
    attack(spool, "symlink to a 64 MiB file", partial(pair_with, seq=1,
                                                      plant_pprof=link_to(secret)),
           expect_kind="unsafe_spool")
    assert secret.stat().st_size > 0


def test_directory_named_like_a_profile_ignored_once(spool):
    """A directory that cannot be removed (it has contents) is logged once and then ignored at
    every rescan: nothing loops."""
    def directory(prepared, dest):
        dest.mkdir()
        (dest / "inside").write_text("x")
    attack(spool, "directory as .pprof", partial(pair_with, seq=1, plant_pprof=directory),
           expect_kind="unsafe_spool", gone=False, extra_env={"PODPROF_EXPORT_RESCAN_S": 1})
    assert (spool / "profile.666.1.pprof").is_dir()


def test_json_after_its_refused_directory_goes_too(spool):
    """The same directory, its .json arriving only after the exporter refused it (two rescans
    later): the .json is removed too, silently. It was left in the spool for good, and the test
    above failed whenever a scan came between the two."""
    def directory_then_wait(prepared, dest):
        dest.mkdir()
        (dest / "inside").write_text("x")
        wait_until(lambda: False, timeout=2.5)
    attack(spool, "directory as .pprof, .json later",
           partial(pair_with, seq=1, plant_pprof=directory_then_wait),
           expect_kind="unsafe_spool", gone=False, extra_env={"PODPROF_EXPORT_RESCAN_S": 1})
    assert (spool / "profile.666.1.pprof").is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_file_of_another_owner_refused(spool):
    """In a spool only its owner may write (mode 0755), a file owned by another uid was put
    there by a hard link or by root, not by the writer: refused."""
    os.chmod(spool, 0o755)

    def foreign(prepared, dest):
        os.chown(prepared, 12345, 12345)
        os.rename(prepared, dest)
    err = attack(spool, "file of another owner", partial(pair_with, seq=1, plant_pprof=foreign),
                 expect_kind="unsafe_spool")
    assert "owned by uid 12345" in err


# ---- what was already refused, held to the same memory and logging bar ----

def test_truncated_gzip_dropped(spool):
    good = gzip.compress(b"\x32\x00" * 100_000)
    attack(spool, "truncated gzip", lambda s: pair_with(s, 1, pprof=good[: len(good) // 2]),
           expect_kind="corrupt_spool")


def test_malformed_metadata_dropped(spool):
    attack(spool, "malformed metadata JSON", lambda s: pair_with(s, 1, meta_text='{"start": [1'),
           expect_kind="corrupt_spool")


def test_flood_of_small_files(spool):
    """5,000 pairs of junk at once: the spool bound drops the oldest (one rate-limited line for
    them all), the rest are dropped as corrupt (one line, the others counted), memory stays flat,
    and the good pair written last is delivered."""
    def plant(s):
        files = []
        for seq in range(5000):
            base = s / f"profile.555.{seq}"
            Path(str(base) + ".pprof").write_bytes(b"junk")
            Path(str(base) + ".json").write_text(
                json.dumps({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:01:00Z"}))
            files.append(Path(str(base) + ".json"))
        return files
    err = attack(spool, "flood of 5,000 junk pairs", plant, expect_kind="corrupt_spool")
    assert len([l for l in err.splitlines() if "[spool_full]" in l]) <= 2, err


def test_report_peaks(capsys):
    """Prints peak RSS per attack (for docs/exporter.md); runs last in this module."""
    with capsys.disabled():
        print(f"\nexporter VmHWM per attack (limit {LIMIT_MIB} MiB):")
        for name, kib in PEAKS.items():
            print(f"  {name:45s} {kib / 1024:6.1f} MiB")
