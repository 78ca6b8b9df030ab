"""The relay as the shim starts it, started here by hand: its loopback
listener on fd 3 and the session text on fd 4. The text gives settings
only before the '@' lines, must end with @end (which is enough while the
stream stays open), and a bad one is a 421 for the app; a local process
that reaches the listener before the app is turned away; a relay holding a
session can leave no core dump."""
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.checks import assert_nothing_stored
from harness.clients import REPO

RELAY = Path(os.environ.get("SMTPSHIM_HELPER", REPO / "tools" / "smtpshim-relay"))


class Relay:
    """smtpshim-relay as the shim starts it: a loopback listener on fd 3,
    the session text on fd 4 (a socket pair), and an app that connects."""

    def __init__(self, intruder: bool = False):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.text_end, child_end = socket.socketpair()
        lfd, sfd = self.listener.fileno(), child_end.fileno()

        def fds():
            # out of the way first, so neither dup2 overwrites the other
            a, b = os.dup(lfd), os.dup(sfd)
            hi_a, hi_b = os.dup2(a, 100), os.dup2(b, 101)
            os.dup2(hi_a, 3)
            os.dup2(hi_b, 4)
        self.proc = subprocess.Popen([str(RELAY)], preexec_fn=fds, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     env={"PATH": os.environ["PATH"], "HOME": "/"})
        child_end.close()
        # intruder: another local process reaches the port before the app
        self.intruder = (socket.create_connection(self.listener.getsockname(), timeout=10)
                         if intruder else None)
        self.app = socket.create_connection(self.listener.getsockname(), timeout=10)
        self.listener.close()

    def client(self):
        return "%s:%d" % self.app.getsockname()

    def send_text(self, text: str, *, close: bool = True):
        self.text_end.sendall(text.encode())
        if close:
            self.text_end.close()

    def reply(self, timeout=10) -> str:
        """The first line the app reads ('' if the relay just closed)."""
        self.app.settimeout(timeout)
        data = b""
        try:
            while b"\n" not in data:
                chunk = self.app.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            return "(nothing in time)"
        except ConnectionResetError:
            return "(reset)"
        return data.decode(errors="replace").split("\n")[0].rstrip("\r")

    def close(self):
        for s in (self.app, self.text_end, self.intruder):
            if s is None:
                continue
            try:
                s.close()
            except OSError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def relay():
    started = []

    def start(**kw):
        started.append(Relay(**kw))
        return started[-1]
    yield start
    for r in started:
        r.close()


def settings(pki, **kv):
    base = {"ca-file": str(pki.ca_file), "timeout": "5"}
    base.update({k.replace("_", "-"): str(v) for k, v in kv.items()})
    return "".join(f"{k} {v}\n" for k, v in base.items())


def test_setting_after_the_at_lines_is_refused(relay, pki):
    # A resolver answer "mail.test\nrelay HOST:PORT", had it passed the
    # shim, would put a setting after "@name": never acted on.
    attacker = socket.create_server(("127.0.0.1", 0))
    attacker.settimeout(1.5)
    r = relay()
    r.send_text(settings(pki, mode="tls") + "@dest 127.0.0.1:25\n@name mail.test\n"
                f"relay 127.0.0.1:{attacker.getsockname()[1]}\n@client {r.client()}\n@program 1 test\n@end\n")
    line = r.reply()
    with pytest.raises(socket.timeout):
        attacker.accept()
    attacker.close()
    assert line.startswith("421 4.3.0 smtpshim: the relay did not get its session"), line
    assert r.proc.wait(10) != 0


def test_local_process_racing_for_the_relay_port_is_turned_away(relay, pki, start_server):
    # it connected first, but it is not the program's socket: closed unserved
    srv = start_server("implicit")
    r = relay(intruder=True)
    r.send_text(settings(pki, mode="tls", port=srv.port)
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n@program 1 test\n@end\n")
    assert r.reply().startswith("220 "), "the program's own socket was not served"
    r.intruder.settimeout(10)
    try:
        got = r.intruder.recv(4096)
    except ConnectionResetError:
        got = b""
    assert got == b"", f"the intruder was served: {got[:200]!r}"


def test_relay_holding_a_session_can_leave_no_core_dump(relay, pki, start_server):
    # it may hold a password: RLIMIT_CORE 0 (and PR_SET_DUMPABLE 0, which
    # only another user's view of /proc shows) before it reads anything
    srv = start_server("implicit")
    r = relay()
    r.send_text(settings(pki, mode="tls", port=srv.port)
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n@program 1 test\n@end\n")
    assert r.reply().startswith("220 ")
    limits = Path(f"/proc/{r.proc.pid}/limits").read_text()
    core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"], core


def test_text_without_end_gets_a_421(relay, pki, start_server):
    srv = start_server("implicit")
    r = relay()
    r.send_text(settings(pki, mode="tls", port=srv.port)
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n")
    line = r.reply()
    assert line.startswith("421 4.3.0 smtpshim: the relay did not get its session"), line
    assert "@end" in line, line
    assert_nothing_stored(srv)


def test_end_line_is_enough_while_the_stream_stays_open(relay, pki, start_server):
    # a child the host forked may hold the shim's end: @end, not EOF, ends the text
    srv = start_server("implicit")
    r = relay()
    r.send_text(settings(pki, mode="tls", port=srv.port)
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n@program 1 test\n@end\n",
                close=False)
    t0 = time.monotonic()
    line = r.reply(timeout=8)
    assert line.startswith("220 "), line
    assert time.monotonic() - t0 < 5
