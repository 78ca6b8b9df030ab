"""Process life around an intercepted connection: the host forks after
connecting, daemonizes, closes every descriptor, reaps with waitpid(-1),
ignores SIGCHLD, forks while another thread uses the socket. The session
survives, and the host never reaps or sees a child it did not make."""
import dataclasses
import os
import signal
import subprocess
import time

import pytest

from harness.checks import assert_nothing_stored
from harness.programs import assert_program_delivered, ProgramRun
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401


def with_status_file(run: ProgramRun, path, *, wait: float = 0) -> ProgramRun:
    """run, with the lines a program wrote to its status file (after it had
    closed its stdio) added to its output; waits up to `wait` seconds for
    "ok: daemon finished" or a FAIL line, killing a daemon that never ends."""
    deadline = time.monotonic() + wait
    text = ""
    while True:
        text = path.read_text() if path.exists() else ""
        if "ok: daemon finished" in text or "FAIL:" in text or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if wait and "ok: daemon finished" not in text and "FAIL:" not in text:
        for line in text.splitlines():
            if line.startswith("ok: daemon pid "):
                try:
                    os.kill(int(line.split()[3]), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        text += f"\n[harness: the daemon did not finish within {wait:.0f} s]\n"
    proc = subprocess.CompletedProcess(run.proc.args, run.proc.returncode,
                                       run.proc.stdout + text, run.proc.stderr)
    return dataclasses.replace(run, proc=proc)


def test_fork_child_uses_socket(run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("fork_child_uses_socket", srv)
    assert_program_delivered(srv, run, "getpeername in the child: 127.0.0.1:25",
                             "the child delivered and exited 0")
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("how", ["close_range", "loop"])
def test_daemonize_then_deliver(how, run_program, start_server, trap25, tmp_path):
    srv = start_server("implicit")
    status = tmp_path / "daemon.status"
    run = with_status_file(run_program("daemonize_then_deliver", srv, how, status), status,
                           wait=30)
    assert_program_delivered(srv, run, "daemon started", "daemon finished")
    assert any(f.startswith("daemon pid ") and f.endswith(f" closed every descriptor ({how})")
               for f in run.oks), run.describe()
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("how", ["close_range", "loop"])
def test_close_all_fds_after_connect(how, run_program, start_server, trap25, tmp_path):
    srv = start_server("implicit")
    status = tmp_path / "program.status"
    run = with_status_file(run_program("close_all_fds_after_connect", srv, how, status), status)
    assert_program_delivered(srv, run, f"every descriptor but the socket closed ({how})")
    assert_nothing_stored(trap25)


def test_waitpid_any_sees_no_foreign_child(run_program, start_server, trap25):
    # The relay must never be the host's child: an exec'd clone child gets
    # SIGCHLD as its exit signal again, so the host would see it in
    # waitpid(-1), get a SIGCHLD, and keep a zombie if it never reaps.
    srv = start_server("implicit")
    run = run_program("waitpid_any_sees_no_foreign_child", srv)
    assert_program_delivered(
        srv, run, "waitpid(-1) saw only our own child; one SIGCHLD; no children left")
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("how", ["ign", "nocldwait"])
def test_sigchld_ignored(how, run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("sigchld_ignored", srv, how)
    disposition = "SIG_IGN" if how == "ign" else "SA_NOCLDWAIT"
    assert_program_delivered(srv, run, f"connect: 0 with SIGCHLD {disposition}", "no children")
    assert_nothing_stored(trap25)


def test_fork_while_threads_use_socket(run_program, start_server, trap25):
    # 300 forks while another thread calls getpeername() without pause: a
    # shim lock copied into a child while held would hang that child.
    srv = start_server("implicit")
    run = run_program("fork_while_threads_use_socket", srv, "300")
    assert_program_delivered(
        srv, run, "300 children forked while a thread used the socket all finished")
    assert_nothing_stored(trap25)
