"""The password command: it does not inherit the app's socket, its exit
status counts even when the host ignores SIGCHLD, and it is bounded by
the timeout."""
import os
import subprocess
import time

import pytest

from harness.checks import assert_nothing_stored, assert_refused
from harness.clients import PYTHON, SMTPSHIM, run_client, shim_args

USERS = {"alice": "correct horse battery staple"}


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
