"""In a process running as root, nothing a less privileged user could have
chosen decides what runs or what is read (issue 7, finding 1): a
set-user-ID program that becomes root fully and runs a child with its
caller's environment gives that child no AT_SECURE, so the shim there
believes no SMTPSHIM_* variable, only /etc/smtpshim.conf and the file
root's own wrapper writes to /run/smtpshim. Root's `smtpshim -- cmd` keeps
working; config files everywhere are used only when group and others
cannot change them; `user-settings no` in /etc/smtpshim.conf ignores the
environment altogether. System-wide cases live in the test namespace's own
overlay mounts (harness/system_wide.py)."""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.checks import assert_delivered, assert_nothing_stored, assert_refused
from harness.clients import REPO, SMTPSHIM, run_client, shim_args
from harness.system_wide import SystemWide

SETPRIV = shutil.which("setpriv")


@pytest.fixture
def system_wide(tmp_path):
    sw = SystemWide(tmp_path / "overlays")
    yield sw
    sw.remove()


@pytest.fixture
def public_dir():
    """A directory an unprivileged user can reach (pytest's tmp is root's
    alone), on a file system that honours set-user-ID bits."""
    d = Path(tempfile.mkdtemp(prefix="smtpshim-priv-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def public_ca(pki, d: Path) -> Path:
    ca = d / "ca.pem"
    shutil.copy(pki.ca_file, ca)
    ca.chmod(0o644)
    return ca


@pytest.mark.skipif(not SETPRIV, reason="setpriv (util-linux) is not installed")
def test_setuid_root_child_never_runs_the_callers_helper(system_wide, public_dir, pki):
    # the system-wide install: every program loads the shim
    ca = public_ca(pki, public_dir)
    system_wide.install(f"ca-file {ca}\nmode tls\ntimeout 5\n")
    system_wide.preload_everywhere()
    become_root = public_dir / "become_root_and_run"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", str(become_root),
                    str(REPO / "tests" / "programs" / "become_root_and_run.c")], check=True)
    become_root.chmod(0o4755)                       # owned by root: set-user-ID root
    ran_as = public_dir / "helper-ran-as"
    helper = public_dir / "helper.sh"               # the caller's "relay"
    helper.write_text(f"#!/bin/sh\nid -u > {ran_as}\n")
    helper.chmod(0o755)
    mailer = public_dir / "mailer.py"               # any program that mails, run as root
    mailer.write_text("import socket\n"
                      "try:\n"
                      "    s = socket.create_connection(('192.0.2.1', 25), timeout=10)\n"
                      "    print(s.recv(200))\n"
                      "except OSError as e:\n"
                      "    print(e)\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(public_dir),
           "SMTPSHIM_HELPER": str(helper), "SMTPSHIM_PASSWORD_COMMAND": f"{helper}"}
    p = subprocess.run([SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                        str(become_root), "/usr/bin/python3", str(mailer)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert "FAIL" not in p.stderr, p.stderr
    time.sleep(0.5)
    assert not ran_as.exists(), (
        f"the caller's helper ran as uid {ran_as.read_text().strip()}:\n{p.stdout}{p.stderr}")


def test_root_wrapper_still_delivers(message, pki, start_server, trap25):
    srv = start_server("implicit")
    run = run_client("smtplib", message, shim=shim_args(pki, mode="tls", port=srv.port))
    assert_delivered(srv, run, tls=True)
    assert_nothing_stored(trap25)


def test_root_ignores_smtpshim_variables_it_inherits_outside_the_wrapper(
        message, pki, start_server, trap25, public_dir):
    # the shim preloaded by hand into a root process: SMTPSHIM_* there may be
    # anyone's, so the helper named in it never runs
    ran_as = public_dir / "helper-ran-as"
    helper = public_dir / "helper.sh"
    helper.write_text(f"#!/bin/sh\nid -u > {ran_as}\n")
    helper.chmod(0o755)
    lib = SMTPSHIM.parent.parent / "shim" / "libsmtpshim.so"
    run = run_client("smtplib", message,
                     env={"LD_PRELOAD": str(lib), "SMTPSHIM_HELPER": str(helper),
                          "SMTPSHIM_ALLOW_LOOPBACK": "1", "SMTPSHIM_CA_FILE": str(pki.ca_file)})
    assert not ran_as.exists(), run.describe()


def test_group_writable_config_is_refused_with_a_421_naming_it(message, pki, tmp_path,
                                                                start_server, trap25):
    srv = start_server("implicit")
    conf = tmp_path / "smtpshim.conf"
    conf.write_text(f"mode tls\nport {srv.port}\n")
    conf.chmod(0o664)
    run = run_client("smtplib", message, shim=shim_args(pki),
                     env={"SMTPSHIM_CONFIG": str(conf)})
    assert_refused(run, f"config {conf} is not used: it is writable by group or others "
                        "(mode 0664)")
    assert_nothing_stored(trap25)


def test_config_named_on_the_command_line_must_be_private_to_its_owner(tmp_path):
    conf = tmp_path / "smtpshim.conf"
    conf.write_text("mode tls\n")
    conf.chmod(0o646)
    p = subprocess.run([str(SMTPSHIM), "--config", str(conf), "--", "true"],
                       capture_output=True, text=True)
    assert p.returncode == 2, p
    assert "writable by group or others (mode 0646)" in p.stderr


def test_user_settings_no_makes_smtpshim_variables_ignored(system_wide, message, pki,
                                                            start_server, trap25):
    srv = start_server("implicit")
    system_wide.install(f"user-settings no\nca-file {pki.ca_file}\nallow-loopback yes\n"
                        f"mode tls\nport {srv.port}\n")
    # a broken setting and another port in the environment: ignored
    run = run_client("smtplib", message, shim=[],
                     env={"SMTPSHIM_CONFIG": None, "SMTPSHIM_MODE": "ssl",
                          "SMTPSHIM_PORT": "1"})
    assert_delivered(srv, run, tls=True)
    assert_nothing_stored(trap25)


def test_wrapper_refuses_options_that_user_settings_no_would_ignore(system_wide, pki):
    system_wide.install("user-settings no\nmode tls\n")
    p = subprocess.run([str(SMTPSHIM), "--mode", "starttls", "--", "true"],
                       env={**os.environ, "SMTPSHIM_CONFIG": ""}, capture_output=True, text=True)
    assert p.returncode == 2, p
    assert "/etc/smtpshim.conf says 'user-settings no'" in p.stderr
