"""Programs LD_PRELOAD cannot reach: smtpshim refuses to pretend, and
`smtpshim listen` gives them a local SMTP port relayed the same way."""
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.checks import assert_delivered, assert_refused
from harness.clients import SMTPSHIM, run_client


LISTENERS = {}     # port or path -> the Popen of its listener


def start_listen(pki, relay, options, address, key):
    """smtpshim listen on address, relaying to relay, in a session of its
    own (the fixtures stop its group); LISTENERS[key] is its Popen."""
    p = subprocess.Popen([str(SMTPSHIM), "listen", "--ca-file", str(pki.ca_file),
                          "--relay", relay, *options, address],
                         stderr=subprocess.PIPE, start_new_session=True,
                         env={**os.environ, "SMTPSHIM_CONFIG": ""})
    LISTENERS[key] = p
    return p


@pytest.fixture
def listener(pki, free_port):
    """smtpshim listen on 127.0.0.1:<free port>, relaying to `relay`."""
    procs = []

    def start(relay, *options):
        p = start_listen(pki, relay, options, f"127.0.0.1:{free_port}", free_port)
        procs.append(p)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:   # until it listens
            if subprocess.run(["ss", "-Hltn", f"sport = :{free_port}"], capture_output=True,
                              text=True).stdout.strip():
                return free_port
            assert p.poll() is None, p.stderr.read().decode()
            time.sleep(0.02)
        pytest.fail("smtpshim listen did not start")

    yield start
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(5)


@pytest.mark.parametrize("mode", ["tls", "starttls"])
def test_listen_relays_a_plain_client_over_tls(client, mode, message, start_server, listener):
    srv = start_server("implicit" if mode == "tls" else "starttls")
    port = listener(f"mail.test:{srv.port}", "--mode", mode)
    # the client is not under smtpshim at all: it is pointed at the port
    run = run_client(client, message, host="127.0.0.1", port=port)
    assert_delivered(srv, run, tls=True)


def test_listen_failure_reaches_the_client_as_a_421(message, listener):
    with socket.socket() as s:     # a port nothing listens on, not the listener's
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    port = listener(f"mail.test:{closed}", "--mode", "tls", "--timeout", "2")
    run = run_client("smtplib", message, host="127.0.0.1", port=port)
    assert_refused(run, "Connection refused")


def test_listen_needs_a_relay():
    p = subprocess.run([str(SMTPSHIM), "listen", "2525"], capture_output=True, text=True)
    assert p.returncode == 2 and "needs --relay" in p.stderr


def test_static_program_is_refused_with_the_alternative(tmp_path, smtpshim):
    src = tmp_path / "prog.c"
    src.write_text("int main(void) { return 0; }\n")
    prog = tmp_path / "prog"
    if subprocess.run(["cc", "-static", "-o", str(prog), str(src)]).returncode:
        pytest.skip("no static libc to link with")
    p = subprocess.run([str(SMTPSHIM), "--", str(prog)], capture_output=True, text=True)
    assert p.returncode == 126
    assert "statically linked" in p.stderr and "smtpshim listen" in p.stderr


def test_go_program_is_refused_with_the_alternative(tmp_path, smtpshim):
    # What Go's linker leaves in every binary is a section of this name; a
    # C program carrying one is recognised the same way (no Go here).
    src = tmp_path / "prog.c"
    src.write_text('__attribute__((section(".go.buildinfo"))) const char info[16] = "go";\n'
                   "int main(void) { return 0; }\n")
    prog = tmp_path / "prog"
    subprocess.run(["cc", "-o", str(prog), str(src)], check=True)
    p = subprocess.run([str(SMTPSHIM), "--", str(prog)], capture_output=True, text=True)
    assert p.returncode == 126
    assert "Go program" in p.stderr and "smtpshim listen" in p.stderr


def test_listen_serves_only_its_own_user(message, start_server, listener):
    # another local user must not send with our credentials
    srv = start_server("implicit")
    port = listener(f"mail.test:{srv.port}", "--mode", "tls")
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "/usr/bin/python3", "-c",
                        f"import socket; s = socket.create_connection(('127.0.0.1', {port}));"
                        "print(s.recv(200).decode())"],
                       capture_output=True, text=True, timeout=30)
    assert "421 4.7.1 smtpshim: this port serves its own user only" in p.stdout, p
    assert not srv.received()


AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

# A whole session in one write, then close: by the time the listener looks
# at a connection waiting in its queue, the client's socket has no owner
# left.  All are opened before any is closed, so the queue holds many.
HIT_AND_RUN = """
import socket, sys
family = socket.AF_UNIX if sys.argv[1].startswith("/") else socket.AF_INET
where = sys.argv[1] if family == socket.AF_UNIX else ("127.0.0.1", int(sys.argv[1]))
session = (b"EHLO intruder.test\\r\\nMAIL FROM:<mallory@intruder.test>\\r\\n"
           b"RCPT TO:<victim@mail.test>\\r\\nDATA\\r\\nSubject: sent as you\\r\\n\\r\\n"
           b"hi\\r\\n.\\r\\nQUIT\\r\\n")
socks = []
for _ in range(int(sys.argv[2])):
    try:
        s = socket.socket(family)
        s.connect(where)
        s.sendall(session)
        socks.append(s)
    except OSError as e:
        print("refused:", e)
for s in socks:
    s.close()
"""


def test_another_users_connect_send_close_never_reaches_the_server(message, start_server,
                                                                    listener):
    # A closed client's row in /proc/net/tcp is TIME_WAIT with uid 0: a
    # check that took uid 0 for root let these through as the owner.
    srv = start_server("implicit")
    port = listener(f"mail.test:{srv.port}", "--mode", "tls")
    # A listener that is behind (a loaded machine, or one the attacker
    # keeps busy) finds the connections closed by the time it looks at
    # them; stopping it for the attack makes that certain.
    os.kill(LISTENERS[port].pid, signal.SIGSTOP)
    try:
        p = subprocess.run([*AS_NOBODY, "/usr/bin/python3", "-c", HIT_AND_RUN, str(port), "60"],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.kill(LISTENERS[port].pid, signal.SIGCONT)
    assert p.returncode == 0, p.stderr
    time.sleep(3)    # a relay started for any of them has had time to connect
    assert not srv.sessions(), \
        f"{srv.sessions()} of 60 connections of another user reached the server"
    assert not srv.received()
    # and the owner is still served
    run = run_client("smtplib", message, host="127.0.0.1", port=port)
    assert_delivered(srv, run, tls=True)


def test_listen_refuses_a_non_loopback_address(pki):
    p = subprocess.run([str(SMTPSHIM), "listen", "--relay", "mail.test", "0.0.0.0:2525"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "not a loopback address" in p.stderr


def test_listen_takes_the_relay_from_a_section(message, pki, start_server, free_port, tmp_path):
    # as for an intercepted connection, a [destination] section applies
    srv = start_server("implicit")
    conf = tmp_path / "smtpshim.conf"
    conf.write_text(f"ca-file {pki.ca_file}\nmode tls\n\n[destination *:{free_port}]\n"
                    f"relay mail.test:{srv.port}\n")
    p = subprocess.Popen([str(SMTPSHIM), "listen", "--config", str(conf),
                          f"127.0.0.1:{free_port}"],
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while not subprocess.run(["ss", "-Hltn", f"sport = :{free_port}"], capture_output=True,
                                 text=True).stdout.strip():
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read().decode()
            time.sleep(0.02)
        run = run_client("smtplib", message, host="127.0.0.1", port=free_port)
        assert_delivered(srv, run, tls=True)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(5)


@pytest.fixture
def unix_listener(pki):
    """smtpshim listen on unix:<dir>/smtp.sock, relaying to `relay`; the
    directory is one other users could enter if its mode let them (the
    tests' tmp_path is inside a directory of mode 700)."""
    procs = []
    where = Path(tempfile.mkdtemp(prefix="smtpshim-listen-"))
    path = where / "smtp.sock"

    def start(relay, *options):
        p = start_listen(pki, relay, options, f"unix:{path}", str(path))
        procs.append(p)
        deadline = time.monotonic() + 5
        while not path.is_socket():
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read().decode()
            time.sleep(0.02)
        return path

    yield start
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(5)
    shutil.rmtree(where)


def test_owner_delivers_over_a_unix_socket_with_curl(message, start_server, unix_listener):
    srv = start_server("implicit")
    path = unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    run = run_client("curl", message, host="localhost", port=25,
                     client_args=["--unix-socket", str(path)])
    assert_delivered(srv, run, tls=True)


def test_unix_socket_is_made_for_its_owner_only(start_server, unix_listener):
    srv = start_server("implicit")
    path = unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    st = path.lstat()
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.geteuid()
    p = subprocess.run([*AS_NOBODY, "/usr/bin/python3", "-c",
                        "import socket, sys; s = socket.socket(socket.AF_UNIX);"
                        f"s.connect({str(path)!r})"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "Permission denied" in p.stderr, p
    assert not srv.sessions()


def test_another_user_is_refused_on_a_unix_socket_opened_up_by_mistake(start_server,
                                                                       unix_listener):
    # SO_PEERCRED holds whoever connected, also once the client has closed
    srv = start_server("implicit")
    path = unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o666)
    p = subprocess.run([*AS_NOBODY, "/usr/bin/python3", "-c",
                        "import socket; s = socket.socket(socket.AF_UNIX);"
                        f"s.connect({str(path)!r}); print(s.recv(200).decode())"],
                       capture_output=True, text=True, timeout=30)
    assert "421 4.7.1 smtpshim: this port serves its own user only" in p.stdout, p
    os.kill(LISTENERS[str(path)].pid, signal.SIGSTOP)
    try:
        p = subprocess.run([*AS_NOBODY, "/usr/bin/python3", "-c", HIT_AND_RUN, str(path), "60"],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.kill(LISTENERS[str(path)].pid, signal.SIGCONT)
    assert p.returncode == 0, p.stderr
    time.sleep(3)
    assert not srv.sessions() and not srv.received()


def test_unix_listener_refuses_to_replace_what_is_not_a_socket(tmp_path):
    path = tmp_path / "smtp.sock"
    path.write_text("precious\n")
    p = subprocess.run([str(SMTPSHIM), "listen", "--relay", "mail.test", f"unix:{path}"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "is not a socket; refusing to replace it" in p.stderr, p
    assert path.read_text() == "precious\n"


def test_unix_listener_refuses_a_socket_another_listener_serves(start_server, unix_listener):
    srv = start_server("implicit")
    path = unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    p = subprocess.run([str(SMTPSHIM), "listen", "--relay", "mail.test", f"unix:{path}"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "something listens on" in p.stderr, p
    assert path.is_socket()


def test_unix_socket_is_removed_when_the_listener_stops(start_server, unix_listener):
    srv = start_server("implicit")
    path = unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    p = LISTENERS[str(path)]
    os.killpg(p.pid, signal.SIGTERM)
    assert p.wait(5) == 0
    assert not path.exists()


def test_unix_listener_replaces_a_stale_socket(start_server, unix_listener, message):
    srv = start_server("implicit")
    path = unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    os.killpg(LISTENERS[str(path)].pid, signal.SIGKILL)   # no chance to clean up
    LISTENERS[str(path)].wait(5)
    assert path.is_socket()
    unix_listener(f"mail.test:{srv.port}", "--mode", "tls")
    run = run_client("curl", message, host="localhost", port=25,
                     client_args=["--unix-socket", str(path)])
    assert_delivered(srv, run, tls=True)
