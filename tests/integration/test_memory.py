"""valgrind watches the code that the sanitizer run cannot reach: the shim
inside a host program that was not built with sanitizers, and the relay as
the shim really starts it."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from harness.checks import assert_delivered
from harness.clients import CLIENTS, REPO, SMTPSHIM, Run, _execute, shim_args

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--trace-children=no"]

pytestmark = pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")


def run_under(client, message, shim, wrap=(), env=None):
    """Runs `client` under smtpshim, inside `wrap` (e.g. valgrind)."""
    with tempfile.TemporaryDirectory(prefix="smtpshim-valgrind-") as tmp:
        inv = CLIENTS[client](message, "mail.test", 25, None, None, Path(tmp))
        cmd = [str(SMTPSHIM), *shim, "--", *wrap, *inv.cmd]
        proc = _execute(cmd, inv.stdin, {**os.environ, **(inv.env or {}), **(env or {})})
    return Run(proc, message.data, message.mail_from, inv.rcpts or message.rcpts)


def test_shim_makes_no_memory_errors_in_the_host(message, pki, start_server, smtpshim):
    # curl is C: valgrind sees every call into the preloaded shim
    srv = start_server("starttls")
    run = run_under("curl", message, shim_args(pki, mode="starttls", port=srv.port),
                    wrap=VALGRIND)
    assert run.returncode != 99, f"valgrind found errors\n{run.describe()}"
    assert_delivered(srv, run, tls=True)


def test_relay_makes_no_memory_errors(message, pki, start_server, smtpshim, tmp_path):
    # The shim gives the relay no environment, so this stand-in for it has
    # its log place written in. Quiet mode: a log that is not empty holds
    # an error.
    helper = tmp_path / "valgrind-relay"
    helper.write_text(f"#!/bin/sh\nexec valgrind -q --log-file={tmp_path}/relay.%p "
                      f"{REPO / 'tools' / 'smtpshim-relay'}\n")
    helper.chmod(0o755)
    srv = start_server("implicit")
    run = run_under("smtplib", message, shim_args(pki, mode="tls", port=srv.port),
                    env={"SMTPSHIM_HELPER": str(helper)})
    assert_delivered(srv, run, tls=True)
    logs = sorted(tmp_path.glob("relay.*"))
    assert logs, "the relay did not run under valgrind"
    reports = {p.name: p.read_text() for p in logs if p.stat().st_size}
    assert not reports, f"valgrind reports from the relay: {reports}"
