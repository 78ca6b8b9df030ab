"""exim4 as the sending MTA: it connects with sendto(MSG_FASTOPEN), empties
its environment and re-executes its set-user-ID binary for delivery, where
glibc ignores an LD_PRELOAD path. The system-wide mode reaches it: the shim
in the system library directory under a bare name, settings from
/etc/smtpshim.conf, limited to the programs it names."""
import os
import shutil

import pytest

from harness import compat
from harness.checks import assert_nothing_stored
from harness.clients import run_client
from harness.exim import EXIM, Exim, shim_config
from harness.system_wide import system_wide  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(not EXIM, reason="exim4 (exim4-daemon-light) is not installed")


@pytest.fixture
def exim():
    e = Exim()
    yield e
    e.remove()


def send_with_exim(exim, message, env, trace=None):
    """trace: a file for strace's record of how exim connects."""
    body = message.data.replace(b"\r\n", b"\n")
    strace = ("strace", "-f", "-o", str(trace), "-e", "trace=connect,sendto,sendmsg")
    proc = exim.run("-odf", "-oi", "-f", message.mail_from, message.rcpts[0], input=body,
                    env=env, prefix=strace if trace else ())
    return proc, exim.mainlog() + proc.stderr.decode(errors="replace")


def assert_relayed_by_exim(srv, message, log):
    got = srv.received()
    assert len(got) == 1, f"server stored {len(got)} messages\n{log}"
    m = got[0]
    assert m.tls and m.tls_version in ("TLSv1.2", "TLSv1.3")
    assert (m.mail_from, m.rcpt_tos) == (message.mail_from, message.rcpts[:1])
    # exim prepends its Received: header and passes the rest untouched
    assert m.content.startswith(b"Received: ") and m.content.endswith(message.data), log
    assert "Completed" in log, log


def test_exim_delivers_through_the_system_wide_shim(exim, system_wide, pki, start_server,
                                                    message, trap25):
    srv = start_server("implicit")
    system_wide.install(shim_config(exim, pki, srv.port, programs="exim4"))
    proc, log = send_with_exim(exim, message, {"PATH": os.environ["PATH"],
                                               "LD_PRELOAD": "libsmtpshim.so"})
    assert proc.returncode == 0, proc.stderr
    assert_relayed_by_exim(srv, message, log)
    assert_nothing_stored(trap25)


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_how_exim_connects_is_observed(exim, message, trap25, tmp_path):
    # without the shim, straight to the plain server on port 25
    trace = tmp_path / "strace.log"
    proc, log = send_with_exim(exim, message, {"PATH": os.environ["PATH"]}, trace)
    assert proc.returncode == 0 and len(trap25.received()) == 1, log
    how = compat.classify_strace(trace.read_text())
    assert how.startswith("sendto(MSG_FASTOPEN)"), trace.read_text()[-2000:]
    compat.connects["exim4"] = how


def test_ld_so_preload_reaches_exim_and_only_the_programs_named(exim, system_wide, pki,
                                                               start_server, message, trap25):
    srv = start_server("implicit")
    system_wide.install(shim_config(exim, pki, srv.port, programs="exim4"))
    system_wide.preload_everywhere()
    proc, log = send_with_exim(exim, message, {"PATH": os.environ["PATH"]})
    assert proc.returncode == 0, proc.stderr
    assert_relayed_by_exim(srv, message, log)
    # swaks is not named: the preloaded shim leaves it alone, and it talks
    # plain SMTP to port 25 as it always did
    run = run_client("swaks", message, env={"SMTPSHIM_CONFIG": None})
    assert run.returncode == 0, run.describe()
    assert len(trap25.received()) == 1 and not trap25.received()[0].tls
