"""The relay server: one ready relay per user (and relay build and relay
environment), started on first use, forking a child per session, gone
after its idle time; trusted both ways only by the kernel's word on the
peer's uid; and whenever it is not there or not usable, a relay of the
connection's own, as before.

Each test runs its own copy of the relay program, so it has its own server
(the server's name covers the relay program's inode) and meets none of the
others'."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from harness.checks import assert_delivered, assert_nothing_stored
from harness.clients import PYTHON, REPO, SMTPSHIM, run_client, shim_args
from harness.programs import relays
# fixtures: programs, message_file
from harness.programs import message_file, programs  # noqa: F401

RELAY = REPO / "tools" / "smtpshim-relay"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def servers(helper: Path, comm: str = "smtpshim-server") -> dict[int, str]:
    """Relay servers of this namespace running `helper`, pid -> uid
    (comm="smtpshim-spare": the children they keep ready)."""
    found = {}
    for pid in relays(comm):
        try:
            if os.readlink(f"/proc/{pid}/exe") != str(helper):
                continue
            uid = Path(f"/proc/{pid}/status").read_text().split("\nUid:")[1].split()[0]
        except (OSError, IndexError):
            continue
        found[pid] = uid
    return found


def server_name(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[2].decode()


def wait_for(what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.05)
    return what()


@pytest.fixture
def shared_dir():
    """A directory other users may read (pytest's own is root's alone)."""
    d = Path(tempfile.mkdtemp(prefix="smtpshim-server-test-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def helper(shared_dir):
    """A relay program of the test's own, and every server it started
    stopped at the end."""
    copy = shared_dir / "smtpshim-relay"
    shutil.copy(RELAY, copy)
    copy.chmod(0o755)
    yield copy
    for pid in servers(copy):
        os.kill(pid, signal.SIGKILL)


def shim_env(helper, **settings):
    # (make test runs the suite once with relay-server no)
    env = {"SMTPSHIM_HELPER": str(helper), "SMTPSHIM_RELAY_SERVER": "yes"}
    env.update({f"SMTPSHIM_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def deliver(client, message, pki, srv, helper, **settings):
    return run_client(client, message, shim=shim_args(pki, mode="tls", port=srv.port),
                      env=shim_env(helper, **settings))


def test_sessions_are_children_of_one_server(message, pki, start_server, trap25, helper):
    srv = start_server("implicit")
    for n in range(3):
        run = deliver("curl", message, pki, srv, helper)
        assert run.returncode == 0, run.describe()
    assert len(srv.received()) == 3
    assert all(m.content == message.data and m.tls for m in srv.received())
    assert len(servers(helper)) == 1, f"servers: {servers(helper)}"
    assert_nothing_stored(trap25)


def test_first_use_by_racing_threads_starts_one_server(pki, start_server, trap25, helper,
                                                       programs, message_file):
    srv = start_server("implicit")
    exe = programs.build("threads_64_deliver")
    cmd = [SMTPSHIM, *shim_args(pki, mode="tls", port=srv.port), "--", exe, "mail.test",
           "25", message_file, "32"]
    p = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SMTPSHIM_CONFIG": "", **shim_env(helper)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(srv.received()) == 32
    started = servers(helper)
    assert len(started) == 1, f"{len(started)} servers for one user: {started}"
    assert_nothing_stored(trap25)


def test_server_exits_after_its_idle_time(message, pki, start_server, helper):
    srv = start_server("implicit")
    run = deliver("smtplib", message, pki, srv, helper, relay_idle=1)
    assert_delivered(srv, run, tls=True)
    assert servers(helper), "no server was started"
    assert wait_for(lambda: not servers(helper), timeout=5), \
        f"the server is still there 5 s after 1 s idle: {servers(helper)}"
    assert wait_for(lambda: not servers(helper, "smtpshim-spare"), timeout=2), \
        f"spares outlived their server: {servers(helper, 'smtpshim-spare')}"


HELD_CLIENT = textwrap.dedent("""\
    import smtplib, sys
    s = smtplib.SMTP("mail.test", 25, timeout=20)
    s.ehlo("client.test")
    print("greeted", flush=True)
    sys.stdin.readline()            # the test acts on the relays here
    try:
        s.sendmail("alice@client.test", ["bob@mail.test"], sys.argv[1].encode())
        s.quit()
        print("sent", flush=True)
    except (smtplib.SMTPException, OSError) as e:
        print("failed:", repr(e), flush=True)
    """)


def held_session(pki, srv, helper, body):
    """A client under the shim that has connected and been greeted, and
    sends when told (a line on its stdin)."""
    cmd = [str(SMTPSHIM), *shim_args(pki, mode="tls", port=srv.port), "--", PYTHON, "-c",
           HELD_CLIENT, body]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "SMTPSHIM_CONFIG": "", **shim_env(helper)})
    assert p.stdout.readline().strip() == "greeted"
    return p


def finish(p):
    out, _ = p.communicate("go\n", timeout=30)
    return out


def test_killed_server_leaves_its_sessions_and_the_next_connection_works(
        message, pki, start_server, helper):
    srv = start_server("implicit")
    body = "Subject: held\r\n\r\nheld open while the server died\r\n"
    p = held_session(pki, srv, helper, body)
    (pid,) = servers(helper)
    assert servers(helper, "smtpshim-spare"), "no spare waits beside the server"
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not servers(helper)), "the server did not die"
    assert wait_for(lambda: not servers(helper, "smtpshim-spare"), timeout=2), \
        f"spares outlived their server: {servers(helper, 'smtpshim-spare')}"
    out = finish(p)
    assert "sent" in out, out
    assert [m.content for m in srv.received()] == [body.encode()]
    # the next connection starts a new server and delivers through it
    run = deliver("curl", message, pki, srv, helper)
    assert run.returncode == 0, run.describe()
    assert len(srv.received()) == 2 and len(servers(helper)) == 1


def test_killed_session_is_never_success_and_the_next_one_works(message, pki, start_server,
                                                              helper):
    srv = start_server("implicit")
    before = set(relays())
    p = held_session(pki, srv, helper, "Subject: lost\r\n\r\nnever arrives\r\n")
    (session,) = set(relays()) - before
    os.kill(session, signal.SIGKILL)
    out = finish(p)
    assert "failed:" in out and "sent" not in out, out
    assert srv.received() == []
    run = deliver("curl", message, pki, srv, helper)
    assert run.returncode == 0, run.describe()
    assert len(srv.received()) == 1


def test_another_users_process_on_the_name_gets_no_session(message, pki, start_server,
                                                           trap25, helper):
    # learn the name the shim will use, then let another user hold it first
    srv = start_server("implicit")
    assert deliver("curl", message, pki, srv, helper).returncode == 0
    (pid,) = servers(helper)
    name = server_name(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not servers(helper))
    squatter = subprocess.Popen(
        [*AS_NOBODY, PYTHON, "-c", textwrap.dedent(f"""\
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.bind("\\0{name}")
            s.listen(8)
            print("listening", flush=True)
            s.settimeout(20)
            while True:
                try:
                    c, _ = s.accept()
                except OSError:
                    break
                c.settimeout(2)
                try:
                    got = c.recv(4096)
                except OSError:
                    got = b""
                print("got", len(got), flush=True)
            """)], stdout=subprocess.PIPE, text=True)
    try:
        assert squatter.stdout.readline().strip() == "listening"
        run = deliver("smtplib", message, pki, srv, helper)
        assert run.returncode == 0, run.describe()
        assert len(srv.received()) == 2, "the program's message did not arrive"
        assert not servers(helper), "a server started although the name is taken"
    finally:
        squatter.kill()
        out = squatter.communicate()[0]
    assert "got 0" in out and not any(line.startswith("got ") and line != "got 0"
                                      for line in out.splitlines()), \
        f"the other user's process was sent something: {out!r}"
    assert_nothing_stored(trap25)


def test_server_refuses_another_users_connection(message, pki, start_server, helper):
    srv = start_server("implicit")
    assert deliver("curl", message, pki, srv, helper).returncode == 0
    (pid,) = servers(helper)
    name = server_name(pid)
    probe = subprocess.run(
        [*AS_NOBODY, PYTHON, "-c", textwrap.dedent(f"""\
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect("\\0{name}")
            # a hello as the shim sends it, with a listener of its own
            lst = socket.create_server(("127.0.0.1", 0))
            try:
                socket.send_fds(s, [b"smtpshim-session/1 0\\t\\t/\\n"], [lst.fileno()])
                print(repr(s.recv(10)))
            except OSError as e:   # closed on us already: refused as well
                print("refused", type(e).__name__)
            """)], capture_output=True, text=True, timeout=30)
    assert probe.stdout.strip() == "b''" or probe.stdout.startswith("refused"), \
        probe.stdout + probe.stderr
    assert servers(helper) == {pid: "0"}, "the server did not go on serving its own user"
    assert deliver("curl", message, pki, srv, helper).returncode == 0


def test_two_users_each_have_their_own_server(message, pki, start_server, shared_dir, helper):
    srv = start_server("implicit")
    assert deliver("curl", message, pki, srv, helper).returncode == 0
    tmp_path = shared_dir
    ca = tmp_path / "ca.pem"
    shutil.copy(pki.ca_file, ca)
    ca.chmod(0o644)
    msg = tmp_path / "message.eml"
    msg.write_bytes(b"Subject: from nobody\r\n\r\nhello\r\n")
    msg.chmod(0o644)
    # the build as another user can reach it (a clone in /root is root's alone)
    wrapper = tmp_path / "tools" / "smtpshim"
    wrapper.parent.mkdir()
    shutil.copy(SMTPSHIM, wrapper)
    shutil.copy(RELAY, wrapper.parent / "smtpshim-relay")   # how it finds the build
    shutil.copytree(REPO / "shim", tmp_path / "shim", symlinks=True,
                    ignore=shutil.ignore_patterns("*.c", "*.h", "common", "*.map"))
    cmd = [*AS_NOBODY, "env", "HOME=/nonexistent", str(wrapper), "--ca-file", str(ca),
           "--allow-loopback", "--mode", "tls", "--port", str(srv.port), "--", "curl", "-sS",
           "smtp://mail.test:25", "--mail-from", "n@client.test", "--mail-rcpt", "b@mail.test",
           "-T", str(msg)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SMTPSHIM_CONFIG": "", **shim_env(helper)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(srv.received()) == 2
    uids = sorted(servers(helper).values())
    assert uids == ["0", "65534"], f"servers by uid: {uids}"


def test_relay_of_its_own_when_the_server_cannot_start(message, pki, start_server, trap25,
                                                        tmp_path):
    # a relay program that will not serve: every connection gets its own relay
    wrapper = tmp_path / "no-server-relay"
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = --serve ] && exit 1\nexec {RELAY} "$@"\n')
    wrapper.chmod(0o755)
    srv = start_server("implicit")
    for _ in range(2):
        run = deliver("smtplib", message, pki, srv, wrapper)
        assert run.returncode == 0, run.describe()
    assert len(srv.received()) == 2
    assert not relays("smtpshim-server") or not servers(wrapper)
    assert_nothing_stored(trap25)


def test_relay_server_no_starts_a_relay_per_connection(message, pki, start_server, helper):
    srv = start_server("implicit")
    run = deliver("curl", message, pki, srv, helper, relay_server="no")
    assert run.returncode == 0, run.describe()
    assert not servers(helper), "relay-server no, yet a server was started"


def test_a_changed_ca_file_is_read_again_by_the_next_session(message, pki, start_server,
                                                             shared_dir, helper):
    # The server and its spares keep trust stores built ahead, by CA file:
    # one whose file changed must not be trusted as it was.
    srv = start_server("implicit")
    ca = shared_dir / "ca.pem"
    shutil.copy(pki.ca_file, ca)
    shim = ["--ca-file", str(ca), "--mode", "tls", "--port", str(srv.port), "--allow-loopback"]

    def send():
        return run_client("curl", message, shim=shim, env=shim_env(helper))

    for _ in range(3):  # the store is now built in the server and in its spares
        assert send().returncode == 0
    assert len(srv.received()) == 3 and len(servers(helper)) == 1
    shutil.copy(pki.untrusted_ca_file, ca)
    refused = send()
    assert refused.returncode != 0 and "certif" in refused.output.lower(), refused.describe()
    assert len(srv.received()) == 3
    shutil.copy(pki.ca_file, ca)
    assert send().returncode == 0
    assert len(srv.received()) == 4


def run_wrapper(helper, *args):
    return subprocess.run([str(SMTPSHIM), *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "SMTPSHIM_CONFIG": "", **shim_env(helper)})


def test_the_wrapper_starts_the_server_before_the_command_connects(message, pki, start_server,
                                                                   helper):
    # a command that never connects: the server is there all the same
    assert run_wrapper(helper, "--", "true").returncode == 0
    started = wait_for(lambda: servers(helper), timeout=5)
    assert len(started) == 1, f"servers: {started}"
    assert wait_for(lambda: servers(helper, "smtpshim-spare")), "the server keeps no spare"
    assert run_wrapper(helper, "--", "true").returncode == 0
    srv = start_server("implicit")
    assert_delivered(srv, deliver("curl", message, pki, srv, helper), tls=True)
    assert servers(helper) == started, "a second server, not the one started ahead"


def test_the_wrapper_starts_no_server_with_relay_server_no(helper):
    assert run_wrapper(helper, "--relay-server", "no", "--", "true").returncode == 0
    time.sleep(0.5)
    assert not servers(helper)


def test_spares_forked_before_the_trust_store_are_replaced_once_it_is_built(message, pki,
                                                                            start_server,
                                                                            helper):
    # started ahead, the server cannot know the CA file: its first spares
    # have no store, and the first session's spare builds it and says so
    def two_spares_but(old=frozenset()):
        now = set(servers(helper, "smtpshim-spare"))
        return len(now) == 2 and not old & now and now

    assert run_wrapper(helper, "--", "true").returncode == 0
    before = wait_for(two_spares_but, timeout=5)
    assert before, f"spares: {servers(helper, 'smtpshim-spare')}"
    srv = start_server("implicit")
    assert_delivered(srv, deliver("curl", message, pki, srv, helper), tls=True)
    # the next sessions' spares are children forked with the store, none
    # of those that would have built their own
    after = wait_for(lambda: two_spares_but(before), timeout=5)
    assert after, f"before {before}, now {servers(helper, 'smtpshim-spare')}"
    run = deliver("smtplib", message, pki, srv, helper)
    assert run.returncode == 0, run.describe()
    assert len(srv.received()) == 2
