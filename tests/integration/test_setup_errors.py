"""Mistakes in smtpshim's own set-up -- not the server's fault -- reach the
program as a 421 that names the cause, and nothing else of the program
changes: an intercepted connection is answered locally (never let through
in plaintext to port 25), every other connection works as before, and the
wrapper refuses a bad option before running anything.

The LD_PRELOAD cases set what the wrapper would set (LD_PRELOAD,
SMTPSHIM_HELPER, SMTPSHIM_ALLOW_LOOPBACK, SMTPSHIM_CA_FILE) by hand, so a
setting the wrapper would refuse still reaches the shim."""
import os
import subprocess
import time

import pytest

from harness.checks import _REPLY_421, assert_delivered, assert_nothing_stored, assert_refused
from harness.clients import SMTPSHIM, run_client, shim_args
from harness.root_settings import ROOT_SETTINGS_DIR, root_settings_file

# the parts the wrapper under test would use (build tree: beside it)
LIB = SMTPSHIM.parent.parent / "shim" / "libsmtpshim.so"
RELAY = SMTPSHIM.parent / "smtpshim-relay"


@pytest.fixture
def preload(pki):
    """preload(**settings) -> the environment for run_client(env=...) that
    preloads the shim by hand, without the wrapper, with SMTPSHIM_<NAME> for
    each setting; inherited SMTPSHIM_* variables are removed. The tests run
    as root, whose processes believe no SMTPSHIM_* variable: the settings go
    where root's wrapper would put them (root_settings_file)."""
    if not os.access(LIB, os.R_OK) or not os.access(RELAY, os.X_OK):
        pytest.fail(f"{LIB} or {RELAY} is not built")
    written = []

    def env(**settings):
        wanted = {"SMTPSHIM_HELPER": str(RELAY), "SMTPSHIM_ALLOW_LOOPBACK": "1",
                  "SMTPSHIM_CA_FILE": str(pki.ca_file),
                  "SMTPSHIM_CONFIG": "",      # no /etc/smtpshim.conf or ~/.config one
                  **{f"SMTPSHIM_{k.upper()}": str(v) for k, v in settings.items()}}
        name = root_settings_file({"PATH": os.environ["PATH"], **wanted})
        written.append(name)
        return {**{var: None for var in os.environ if var.startswith("SMTPSHIM_")},
                **wanted, "LD_PRELOAD": str(LIB), "SMTPSHIM_SETTINGS": name}

    yield env
    for name in written:
        (ROOT_SETTINGS_DIR / name).unlink(missing_ok=True)


def assert_refused_locally(run, *phrases):
    """A 421 4.3.5 from the shim itself (no relay ran) naming the cause."""
    assert_refused(run, *phrases)
    replies = [m.group(0) for m in map(_REPLY_421.search, run.output.splitlines()) if m]
    assert all("4.3.5" in r for r in replies), f"{replies}\n{run.describe()}"


# -- bad settings reaching the shim ------------------------------------------

def test_bad_setting_in_environment_is_a_421(client, message, preload, trap25):
    run = run_client(client, message, env=preload(mode="ssl"))
    assert_refused_locally(run, "SMTPSHIM_MODE: mode: 'ssl' is not auto, tls or starttls")
    assert_nothing_stored(trap25)


def test_bad_setting_leaves_other_connections_untouched(client, message, preload,
                                                        start_server, trap25):
    # same broken environment; port 2526 is not intercepted
    plain = start_server("plain-no-starttls", cert=None, port=2526)
    run = run_client(client, message, port=2526, env=preload(mode="ssl"))
    assert_delivered(plain, run, tls=False)
    assert_nothing_stored(trap25)


def test_bad_setting_in_environment_under_the_wrapper_is_a_421(message, pki, trap25, smtpshim):
    # the wrapper checks its options, not SMTPSHIM_* variables it inherits
    run = run_client("smtplib", message, shim=shim_args(pki, mode="tls"),
                     env={"SMTPSHIM_TIMEOUT": "soon"})
    assert_refused_locally(run, "SMTPSHIM_TIMEOUT: timeout: 'soon' is not a number of seconds")
    assert_nothing_stored(trap25)


def test_config_file_error_names_file_and_line(client, message, preload, tmp_path, trap25):
    conf = tmp_path / "smtpshim.conf"
    conf.write_text("# smtpshim settings\nmode starttls\ntimeout = forever\nport 2587\n")
    run = run_client(client, message, env=preload(config=conf))
    assert_refused_locally(
        run, f"{conf} line 3: timeout: 'forever' is not a number of seconds (1-3600)")
    assert_nothing_stored(trap25)


def test_missing_config_file_is_a_421(message, preload, tmp_path, trap25):
    conf = tmp_path / "no-such.conf"
    run = run_client("swaks", message, env=preload(config=conf))
    assert_refused_locally(run, f"cannot read config {conf}: No such file or directory")
    assert_nothing_stored(trap25)


def test_missing_relay_binary_is_a_421(client, message, preload, trap25):
    run = run_client(client, message, env=preload(helper="/nonexistent/smtpshim-relay",
                                                  mode="tls"))
    assert_refused_locally(
        run, "cannot start the relay /nonexistent/smtpshim-relay: No such file or directory")
    assert_nothing_stored(trap25)


@pytest.fixture
def dying_relay(tmp_path):
    """A "relay" that starts (execve succeeds) and exits at once, as one
    whose shared libraries are missing would."""
    path = tmp_path / "smtpshim-relay"
    path.write_text("#!/bin/sh\nexit 127\n")
    path.chmod(0o755)
    return path


def test_relay_dying_at_start_fails_the_client_quickly(client, message, preload, dying_relay,
                                                       trap25):
    started = time.monotonic()
    run = run_client(client, message, env=preload(helper=dying_relay, mode="tls"))
    took = time.monotonic() - started
    assert run.returncode != 0, run.describe()
    assert took < 10, f"took {took:.1f}s\n{run.describe()}"
    assert_nothing_stored(trap25)


def test_relay_dying_at_start_is_a_421(client, message, preload, dying_relay, trap25):
    run = run_client(client, message, env=preload(helper=dying_relay, mode="tls"))
    assert_refused(run, "failed at start")
    assert_nothing_stored(trap25)


# -- the wrapper ---------------------------------------------------------------

BAD_OPTIONS = {
    "mode": (["--mode", "ssl"], "mode: 'ssl' is not auto, tls or starttls"),
    "port": (["--port", "99999"], "port: '99999' is not a port number"),
    "timeout": (["--timeout", "0"], "timeout: '0' is not a number of seconds (1-3600)"),
    "intercept": (["--intercept", "25,smtp"], "intercept: 'smtp' is not a port number"),
    "relay": (["--relay", "mail.test:smtp"], "relay: 'mail.test:smtp' is not HOST or HOST:PORT"),
    "flag": (["--allow-loopback=maybe"], "allow-loopback: 'maybe' is not yes or no"),
    "config-missing": (["--config", "/nonexistent/smtpshim.conf"],
                       "cannot read config /nonexistent/smtpshim.conf: No such file or directory"),
    "config-line": (["--config", "{bad_conf}"], "{bad_conf} line 2: mode: 'ssl' is not auto"),
    "unknown": (["--frobnicate"], "unknown option --frobnicate"),
    "helper": (["--helper", "/bin/true"], "unknown option --helper"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_wrapper_rejects_bad_option_without_running_the_command(case, tmp_path, smtpshim):
    bad_conf = tmp_path / "bad.conf"
    bad_conf.write_text("port 2587\nmode ssl\n")
    args, phrase = BAD_OPTIONS[case]
    args = [a.format(bad_conf=bad_conf) for a in args]
    phrase = phrase.format(bad_conf=bad_conf)
    marker = tmp_path / "ran"
    proc = subprocess.run([str(SMTPSHIM), *args, "--", "touch", str(marker)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc
    assert f"smtpshim: {phrase}" in proc.stderr, proc.stderr
    assert proc.stdout == "", proc.stdout
    assert not marker.exists(), "the command ran"


# -- the relay host cannot be found ---------------------------------------------

def test_unresolvable_relay_host_is_a_421(client, message, pki, trap25, smtpshim):
    run = run_client(client, message,
                     shim=[*shim_args(pki, mode="tls"), "--relay", "no-such-host.invalid"])
    assert_refused(run, "cannot resolve no-such-host.invalid")
    assert_nothing_stored(trap25)
