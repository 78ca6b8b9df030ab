"""Auto mode: 465 (implicit TLS), 587 and 2525 (STARTTLS) started staggered,
Happy Eyeballs style (RFC 8305), over the whole setup -- a port that is
silently dropped or black-holed costs a fraction of a second, not a timeout --
and the port that worked is remembered per host and tried first next time,
only in a private directory."""
import os
import socket
import subprocess
import threading
import time

import pytest

from harness.checks import assert_delivered, assert_nothing_stored
from harness.clients import PYTHON, SMTPSHIM, run_client, shim_args

TIMED_CLIENT = r'''
import smtplib, sys, time
data = sys.stdin.buffer.read()
t0 = time.monotonic()
smtp = smtplib.SMTP("mail.test", 25, local_hostname="client.test", timeout=30)
setup = time.monotonic() - t0          # connect + greeting: the whole upstream setup
smtp.sendmail("alice@client.test", ["bob@mail.test", "carol@other.test"], data)
smtp.quit()
print(f"setup {setup:.3f}")
'''


class BlackHole:
    """Accepts TCP connections on a port and never says a word (what a
    firewall that lets SYNs through to a dead service looks like)."""

    def __init__(self, port):
        self.accepted = 0
        self._conns = []
        self._sock = socket.create_server(("127.0.0.1", port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)   # held open, silent

    def close(self):
        # shutdown first: a close alone leaves the blocked accept() holding the port
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)
        for c in self._conns:
            c.close()


@pytest.fixture
def black_hole():
    holes = []

    def make(port):
        holes.append(BlackHole(port))
        return holes[-1]
    yield make
    for h in holes:
        h.close()


def run_timed(pki, message, cache, *extra):
    proc = subprocess.run(
        [str(SMTPSHIM), *shim_args(pki), *extra, "--", PYTHON, "-c", TIMED_CLIENT],
        input=message.data, capture_output=True, timeout=60,
        env={**os.environ, "SMTPSHIM_CONFIG": "", "XDG_CACHE_HOME": str(cache)})
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0, out
    setup = float(next(line.split()[1] for line in out.splitlines() if line.startswith("setup")))
    return setup, out


def connect_order(out):
    """The upstream ports in the order the relay started them (verbose log)."""
    return [int(line.split(":")[-1].split()[0]) for line in out.splitlines()
            if "connecting to 127.0.0.1:" in line]


def test_black_holed_465_costs_a_fraction_of_a_second_and_587_is_remembered(
        message, pki, start_server, black_hole, trap25, tmp_path, smtpshim):
    hole = black_hole(465)
    srv = start_server("starttls", port=587)
    cache = tmp_path / "cache"

    setup, out = run_timed(pki, message, cache, "-v")
    assert setup < 1.0, f"setup took {setup:.3f} s\n{out}"
    assert connect_order(out)[:2] == [465, 587], out
    assert hole.accepted == 1
    assert len(srv.received()) == 1 and srv.received()[0].tls
    assert (cache / "smtpshim" / "port-mail.test").read_text() == "587 starttls\n"

    # the second run starts with the port that worked
    setup2, out2 = run_timed(pki, message, cache, "-v")
    assert connect_order(out2)[0] == 587, out2
    assert setup2 < 1.0, f"setup took {setup2:.3f} s\n{out2}"
    assert len(srv.received()) == 2
    assert_nothing_stored(trap25)
    print(f"\nauto mode, 465 black-holed: setup {setup:.3f} s first run, "
          f"{setup2:.3f} s with the remembered port")


def test_only_2525_open_is_found(message, pki, start_server, trap25, smtpshim):
    srv = start_server("starttls", port=2525)
    run = run_client("swaks", message, shim=shim_args(pki))
    assert_delivered(srv, run, tls=True)


def test_all_ports_black_holed_gives_up_after_the_timeout_with_every_cause(
        message, pki, black_hole, trap25, smtpshim):
    for port in (465, 587, 2525):
        black_hole(port)
    t0 = time.monotonic()
    run = run_client("smtplib", message, shim=[*shim_args(pki), "--timeout", "1"])
    took = time.monotonic() - t0
    out = run.output
    assert run.returncode != 0
    assert "mail.test:465 failed: handshake timed out" in out, run.describe()
    assert "mail.test:587 greeting: no reply in time" in out, run.describe()
    assert "mail.test:2525 greeting: no reply in time" in out, run.describe()
    # staggered, not one after the other: about 1 s + 2 x 250 ms, not 3 s
    assert took < 2.5, f"{took:.2f} s"
    assert_nothing_stored(trap25)


def test_remembered_port_that_stopped_working_falls_back(message, pki, start_server,
                                                         tmp_path, trap25, smtpshim):
    cache = tmp_path / "cache"
    (cache / "smtpshim").mkdir(parents=True)
    (cache / "smtpshim" / "port-mail.test").write_text("2525 starttls\n")
    srv = start_server("implicit", port=465)
    run = run_client("smtplib", message, shim=shim_args(pki),
                     env={"XDG_CACHE_HOME": str(cache)})
    assert_delivered(srv, run, tls=True)
    assert (cache / "smtpshim" / "port-mail.test").read_text() == "465 tls\n"


# -- the port cache ------------------------------------------------------------

def test_port_cache_only_in_a_private_directory(message, pki, start_server, tmp_path,
                                                trap25, smtpshim):
    srv = start_server("implicit", port=465)
    cache = tmp_path / "cache"
    (cache / "smtpshim").mkdir(parents=True)
    (cache / "smtpshim").chmod(0o777)     # anyone may write: not used
    run = run_client("smtplib", message, shim=[*shim_args(pki), "-v"],
                     env={"XDG_CACHE_HOME": str(cache)})
    assert run.returncode == 0, run.describe()
    assert not (cache / "smtpshim" / "port-mail.test").exists()
    assert "port cache" in run.output and "not used" in run.output, run.describe()
    (cache / "smtpshim").chmod(0o700)
    run = run_client("smtplib", message, shim=shim_args(pki), env={"XDG_CACHE_HOME": str(cache)})
    assert run.returncode == 0, run.describe()
    assert (cache / "smtpshim" / "port-mail.test").read_text() == "465 tls\n"
    assert len(srv.received()) == 2
