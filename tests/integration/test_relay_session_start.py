"""Review findings in the relay, each proved end to end: the session text
on fd 4 (settings only before the '@' lines, an @end required, read with a
deadline, a 421 for the app when it is bad); what the filter must not let
through (SMTP smuggling next to a bare LF or a bare CR, BDAT, SASL responses in the verbose log); the
password command (no inherited app socket, its exit status even when the
host ignores SIGCHLD, bounded by the timeout); the greeting's claims;
TCP keepalive upstream; the port cache only in a private directory."""
import base64
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.checks import assert_nothing_stored, assert_refused
from harness.clients import PYTHON, REPO, SMTPSHIM, run_client, shim_args
from harness.hostile import HostileServer

RELAY = Path(os.environ.get("SMTPSHIM_HELPER", REPO / "tools" / "smtpshim-relay"))
USERS = {"alice": "correct horse battery staple"}


# -- the session text, with the relay started by hand ------------------------

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
                f"relay 127.0.0.1:{attacker.getsockname()[1]}\n@client {r.client()}\n@end\n")
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
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n@end\n")
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
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n@end\n")
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
                + f"@dest 127.0.0.1:25\n@name mail.test\n@client {r.client()}\n@end\n",
                close=False)
    t0 = time.monotonic()
    line = r.reply(timeout=8)
    assert line.startswith("220 "), line
    assert time.monotonic() - t0 < 5


# -- a raw SMTP client under the shim -----------------------------------------

RAW_CLIENT = r'''
import socket, sys
s = socket.create_connection(("mail.test", 25), timeout=20)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode(errors="replace")
        if not line:
            lines.append("(closed)")
            return lines
        lines.append(line.rstrip())
        if line[3:4] != "-":
            return lines
def show(what, r):
    print(what, "->", " | ".join(r), flush=True)
def say(text):
    s.sendall(text)
    r = reply()
    show(text.split(b" ")[0].strip().decode(), r)
    return r
show("greeting", reply())
'''


def run_raw(pki, server, script, *options, tmp_path, env=None, timeout=40, wrapper=()):
    path = tmp_path / "client.py"
    path.write_text(RAW_CLIENT + script)
    proc = subprocess.run([*wrapper, str(SMTPSHIM), *shim_args(pki, mode="starttls",
                                                               port=server.port),
                           *options, "--", PYTHON, str(path)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SMTPSHIM_CONFIG": "",
                               "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})})
    return proc, proc.stdout + proc.stderr


def test_smuggled_end_of_data_is_refused(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls")
    script = r'''
say(b"EHLO client.test\r\n")
say(b"MAIL FROM:<alice@client.test>\r\n")
say(b"RCPT TO:<bob@mail.test>\r\n")
say(b"DATA\r\n")
# "\n.\n" ends the message for servers that take a bare LF as a line end
say(b"Subject: hello\r\n\r\nhi\n.\nMAIL FROM:<ceo@mail.test>\r\nRCPT TO:<bob@mail.test>\r\n"
    b"DATA\r\nSubject: smuggled\r\n\r\npay now\r\n.\r\n")
'''
    proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    assert "421 4.5.0 smtpshim: the message has a line \".\" ended by a bare LF" in out, out
    assert "(SMTP smuggling); refused" in out, out
    assert_nothing_stored(srv)


@pytest.mark.parametrize("dot_line", [b"\r.\r", b"\r.\n", b"\r\n.\r"],
                         ids=["bare-CR-both-sides", "bare-CR-before-bare-LF-after",
                              "CRLF-before-bare-CR-after"])
def test_dot_line_next_to_a_bare_cr_is_refused(dot_line, pki, tmp_path, smtpshim):
    """Against a server that takes a bare CR for a line end (a "clean CR/LF"
    appliance), a "." line next to a bare CR would end the message and run
    what follows as commands of this session."""
    srv = HostileServer("cr-lines", pki.mail).start()
    try:
        script = r'''
say(b"EHLO client.test\r\n")
say(b"MAIL FROM:<alice@client.test>\r\n")
say(b"RCPT TO:<bob@mail.test>\r\n")
say(b"DATA\r\n")
say(b"Subject: hello\r\n\r\nhi" + %r + b"MAIL FROM:<ceo@mail.test>\r\n"
    b"RCPT TO:<eve@mail.test>\r\nDATA\r\nSubject: smuggled\r\n\r\npay now\r\n.\r\n")
''' % dot_line
        proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    finally:
        srv.stop()
    assert "Subject: -> 421 4.5.0 smtpshim: the message has a line \".\"" in out, out
    assert "(SMTP smuggling); refused" in out, out
    assert not srv.stored, f"stored {srv.stored}\n{srv.describe()}"
    conns = srv.received()
    assert conns, out
    for c in conns:
        assert b"ceo@mail.test" not in c.tls and b"eve@mail.test" not in c.tls, srv.describe()
        assert b"MAIL FROM:<alice@client.test>" in c.tls, srv.describe()


def test_bare_lf_message_that_is_dot_stuffed_is_delivered(pki, start_server, tmp_path,
                                                          smtpshim):
    srv = start_server("starttls")
    script = r'''
say(b"EHLO client.test\r\n")
say(b"MAIL FROM:<alice@client.test>\r\n")
say(b"RCPT TO:<bob@mail.test>\r\n")
say(b"DATA\r\n")
say(b"Subject: bare LF\n\nline\n..\n..dot\nlast\n\r\n.\r\n")
say(b"QUIT\r\n")
'''
    proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    assert "Subject: -> 250" in out, out
    got = srv.received()
    assert len(got) == 1, out
    # (aiosmtpd takes only CRLF for a line end, so it unstuffs none of these dots)
    assert got[0].content == b"Subject: bare LF\n\nline\n..\n..dot\nlast\n\r\n", got[0].content


def test_bdat_ends_the_session_with_a_421(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls")
    script = r'''
say(b"EHLO client.test\r\n")
say(b"MAIL FROM:<alice@client.test>\r\n")
say(b"RCPT TO:<bob@mail.test>\r\n")
say(b"BDAT 23 LAST\r\nRCPT TO:<eve@mail.test>\r\n")
'''
    proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    assert "BDAT -> 421 4.5.0 smtpshim: BDAT is refused" in out, out
    assert_nothing_stored(srv)


def test_pipelined_sasl_response_never_reaches_the_log(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls", users=USERS, auth_required=True)
    b64 = base64.b64encode(b"\0alice\0" + USERS["alice"].encode())
    script = r'''
say(b"EHLO client.test\r\n")
s.sendall(b"AUTH PLAIN\r\n" + %r + b"\r\n")   # the response without waiting for 334
show("AUTH", reply())
show("response", reply())
say(b"QUIT\r\n")
''' % b64
    proc, out = run_raw(pki, srv, script, "-v", tmp_path=tmp_path)
    assert "response -> 235" in out, out
    assert b64.decode() not in out, out
    assert "*** (SASL response)" in out, out


def test_password_pipelined_after_a_refused_auth_never_reaches_the_log(pki, tmp_path,
                                                                      smtpshim):
    """The app pipelines AUTH LOGIN, user name and password; the server
    has no such mechanism (504) and reads the two as commands. The -v log
    shows neither, however the server's replies to them read."""
    user = base64.b64encode(b"alice-the-user")
    password = base64.b64encode(b"hunter2 correct horse")
    srv = HostileServer("refuse-auth", pki.mail).start()
    try:
        script = r'''
say(b"EHLO client.test\r\n")
s.sendall(b"AUTH LOGIN\r\n" + %r + b"\r\n" + %r + b"\r\n")
show("AUTH", reply())
show("user", reply())
show("password", reply())
say(b"NOOP\r\n")
say(b"QUIT\r\n")
''' % (user, password)
        proc, out = run_raw(pki, srv, script, "-v", tmp_path=tmp_path)
    finally:
        srv.stop()
    assert "AUTH -> 504 5.5.4" in out, out
    assert "NOOP -> 250" in out, out
    assert "C: NOOP" in out, out    # the log is on, and shows later commands
    for secret in (password, user):
        assert secret.decode() not in out, out
    assert b"hunter2" not in out.encode(), out
    assert "C: AUTH LOGIN" in out, out
    # the app's lines did reach the server: only the log leaves them out
    assert password in bytes(srv.received()[0].tls), srv.describe()


# -- the password command ---------------------------------------------------

@pytest.fixture
def auth_server(start_server):
    return start_server("starttls", users=USERS, auth_required=True)


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret"
    path.write_text(USERS["alice"] + "\n")
    path.chmod(0o600)
    return path


def auth_args(pki, server, *extra):
    return [*shim_args(pki, mode="starttls"), "--relay", f"mail.test:{server.port}", "--user", "alice",
            *extra]


def test_password_command_does_not_inherit_the_app_socket(message, pki, auth_server,
                                                          secret_file, tmp_path, smtpshim):
    fds = tmp_path / "fds"
    cmd = f'for f in /proc/$$/fd/*; do echo "$f $(readlink "$f")"; done > {fds}; cat {secret_file}'
    run = run_client("smtplib", message,
                     shim=auth_args(pki, auth_server, "--password-command", cmd))
    assert run.returncode == 0, run.describe()
    listing = fds.read_text()
    assert "socket:" not in listing, listing


IGNORE_SIGCHLD = ("import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
                  "os.execvp(sys.argv[1], sys.argv[1:])")


def test_failing_password_command_fails_when_the_host_ignores_sigchld(
        message, pki, auth_server, tmp_path, smtpshim):
    # The relay inherits the host's SIG_IGN; the kernel would reap the
    # command and waitpid() lose its status: "garbage" must not be sent.
    script = tmp_path / "client.py"
    script.write_text(r'''
import smtplib, sys
try:
    smtp = smtplib.SMTP("mail.test", 25, local_hostname="client.test", timeout=20)
    print("greeting ok", smtp.ehlo())
except smtplib.SMTPResponseException as e:
    print("refused", e.smtp_code, e.smtp_error.decode())
    sys.exit(1)
''')
    proc = subprocess.run([PYTHON, "-c", IGNORE_SIGCHLD, str(SMTPSHIM),
                           *auth_args(pki, auth_server, "--password-command",
                                      "echo garbage; exit 1"),
                           "--", PYTHON, str(script)],
                          capture_output=True, text=True, timeout=40,
                          env={**os.environ, "SMTPSHIM_CONFIG": ""})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "refused 421" in out and "password-command failed (exit status 1)" in out, out


def test_password_command_is_bounded_by_the_timeout(message, pki, auth_server, tmp_path,
                                                    smtpshim):
    # prints a line, closes its output, and never exits
    t0 = time.monotonic()
    run = run_client("smtplib", message,
                     shim=auth_args(pki, auth_server, "--timeout", "2", "--password-command",
                                    "echo pw; exec >&-; sleep 60"))
    took = time.monotonic() - t0
    assert_refused(run, "password-command did not finish in time")
    assert took < 15, f"{took:.1f} s"
    assert_nothing_stored(auth_server)


# -- the greeting's claim ---------------------------------------------------

def greeting_of(run):
    return next((line for line in run.output.splitlines() if line.startswith("<-  220")),
                f"(no greeting)\n{run.describe()}")


def test_greeting_claims_authenticated_only_when_it_is(message, pki, start_server,
                                                      secret_file, smtpshim):
    srv = start_server("starttls", users=USERS)
    run = run_client("swaks", message, shim=auth_args(pki, srv, "--password-file",
                                                      str(secret_file)))
    assert run.returncode == 0, run.describe()
    assert "authenticated)" in greeting_of(run)
    # a server whose EHLO offers no AUTH (the hostile one's does not): the
    # relay sends as it is, and must not claim otherwise
    with HostileServer("drop-in-data", pki.mail) as bare:
        run = run_client("swaks", message,
                         shim=[*shim_args(pki, mode="tls"), "--relay", f"mail.test:{bare.port}", "--user", "alice",
                               "--password-file", str(secret_file)])
    greeting = greeting_of(run)
    assert greeting.startswith("<-  220 mail.test ESMTP via smtpshim (TLS to "), greeting
    assert "authenticated" not in greeting, greeting


# -- TCP keepalive upstream ---------------------------------------------------

def test_upstream_socket_has_tcp_keepalive(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls")
    path = tmp_path / "client.py"
    path.write_text(RAW_CLIENT + r'''
say(b"EHLO client.test\r\n")
sys.stdin.readline()        # the test looks at the sockets meanwhile
say(b"QUIT\r\n")
''')
    p = subprocess.Popen([str(SMTPSHIM), *shim_args(pki, mode="starttls", port=srv.port),
                          "--", PYTHON, str(path)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "SMTPSHIM_CONFIG": ""})
    try:
        assert "EHLO -> 250" in p.stdout.readline() + p.stdout.readline(), "no EHLO reply"
        ss = subprocess.run(["ss", "-Htno", "state", "established",
                             f"( dport = :{srv.port} )"],
                            capture_output=True, text=True).stdout
    finally:
        out, err = p.communicate("\n", timeout=20)
    assert ss.strip(), "no connection to the server"
    assert "timer:(keepalive" in ss, ss


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
