"""How each real client opens its connection, seen with strace, for
docs/compatibility.md (written at the end of the session by conftest.py)."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import compat
from harness.clients import CLIENTS

pytestmark = pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_how_each_client_connects_is_observed(name, message, trap25, tmp_path):
    log = tmp_path / "strace.log"
    with tempfile.TemporaryDirectory() as work:
        inv = CLIENTS[name](message, "mail.test", 25, None, None, Path(work))
        proc = subprocess.run(["strace", "-f", "-o", str(log), "-e",
                               "trace=connect,sendto,sendmsg", *inv.cmd],
                              input=inv.stdin, capture_output=True, timeout=60,
                              env={**__import__("os").environ, **(inv.env or {})})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    how = compat.classify_strace(log.read_text())
    assert how != "not seen", log.read_text()[-2000:]
    compat.connects[name] = how
