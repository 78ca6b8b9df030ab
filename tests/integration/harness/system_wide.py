"""The system-wide installation, made inside the test namespace only.

Overlay mounts put files in /etc, the system library directory and
/usr/local as an installation would, visible to the processes of
tests/netns-run's mount namespace alone and gone when the test unmounts
them (or the namespace ends): the machine itself is never touched, and an
/etc/ld.so.preload written here cannot reach the test runner's parent.
"""
import os
import subprocess
from pathlib import Path

import pytest

from .clients import REPO

TRIPLET = subprocess.run(["cc", "-print-multiarch"], capture_output=True,
                         text=True).stdout.strip() or "x86_64-linux-gnu"
SYSTEM_LIBDIR = Path("/usr/lib") / TRIPLET
RELAY_PATH = Path("/usr/local/libexec/smtpshim/smtpshim-relay")   # the built-in default


class SystemWide:
    def __init__(self, work: Path):
        self.work = work
        self.mounted = []

    def _overlay(self, target: Path):
        name = str(target).strip("/").replace("/", "_")
        upper, workdir = self.work / name / "upper", self.work / name / "work"
        upper.mkdir(parents=True)
        workdir.mkdir(parents=True)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={target},upperdir={upper},workdir={workdir}", str(target)],
                       check=True)
        self.mounted.append(target)

    def install(self, config: str):
        """The shim as a bare-named, set-user-ID-marked library in the system
        library directory (the only way glibc preloads into a set-user-ID
        program), the relay where the shim looks by default, and config."""
        hosts = Path("/etc/hosts").read_text()       # the namespace's own
        self._overlay(Path("/etc"))
        Path("/etc/hosts").write_text(hosts)
        Path("/etc/smtpshim.conf").write_text(config)
        self._overlay(SYSTEM_LIBDIR)
        lib = SYSTEM_LIBDIR / "libsmtpshim.so"
        lib.write_bytes((REPO / "shim" / "lib" / TRIPLET / "libsmtpshim.so").read_bytes())
        lib.chmod(0o4755)
        self._overlay(Path("/usr/local"))
        RELAY_PATH.parent.mkdir(parents=True, exist_ok=True)
        RELAY_PATH.write_bytes((REPO / "tools" / "smtpshim-relay").read_bytes())
        RELAY_PATH.chmod(0o755)
        return self

    def preload_everywhere(self):
        """/etc/ld.so.preload: every program started from now on loads it."""
        Path("/etc/ld.so.preload").write_text("libsmtpshim.so\n")

    def remove(self):
        for target in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)
        self.mounted.clear()


@pytest.fixture
def system_wide(tmp_path):
    """A SystemWide of the test, removed at its end (import it into the
    test module: `from harness.system_wide import system_wide`)."""
    sw = SystemWide(tmp_path / "overlays")
    yield sw
    sw.remove()
