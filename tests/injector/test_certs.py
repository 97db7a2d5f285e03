"""`podprof-injector certs`: the private key never exists readable by others, and a symlink
planted at the temporary name it writes through (the name is predictable: the target's name and
the pid) is never followed."""
import os
import stat
import subprocess

from injector_harness import INJECTOR, NAMESPACE, SERVICE


def test_key_is_private_from_birth_and_links_are_not_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    # exec keeps the shell's pid, so the link sits exactly at the name the command writes to
    script = ('ln -s "$1" "$2/tls.key.tmp.$$" && ln -s "$1" "$2/ca.crt.tmp.$$" && umask 000 && '
              'exec "$3" certs --service "$4" --namespace "$5" --out "$2"')
    r = subprocess.run(["sh", "-c", script, "sh", str(victim), str(out), str(INJECTOR), SERVICE,
                        NAMESPACE], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "keep me\n"
    assert stat.S_IMODE(os.stat(out / "tls.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "ca.crt").st_mode) == 0o644
    assert sorted(p.name for p in out.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert (out / "tls.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
