"""Shell integration: eval "$(smtpshim env OPTIONS)" makes every later
command of the shell run as under `smtpshim --`, with the same settings;
eval "$(smtpshim env off)" stops it -- in bash and in dash."""
import os
import shutil
import subprocess

import pytest

from harness.clients import PYTHON, SMTPSHIM, shim_args

SEND = ("import smtplib, sys; s = smtplib.SMTP('mail.test', 25, timeout=20); "
        "s.sendmail('alice@client.test', ['bob@mail.test'], sys.argv[1].encode()); s.quit()")


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_env_on_then_off_in_the_same_shell(shell, pki, start_server, trap25):
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed")
    srv = start_server("implicit")
    options = " ".join(f"'{a}'" for a in shim_args(pki, mode="tls", port=srv.port))
    script = f"""
        set -e
        eval "$({SMTPSHIM} env {options})"
        {PYTHON} -c "$SEND" 'Subject: on

sent while on
'
        eval "$({SMTPSHIM} env off)"
        test -z "$LD_PRELOAD" && test -z "$SMTPSHIM_MODE"
        {PYTHON} -c "$SEND" 'Subject: off

sent after off
'
    """
    p = subprocess.run([shell, "-c", script], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SEND": SEND, "SMTPSHIM_CONFIG": ""})
    assert p.returncode == 0, p.stdout + p.stderr
    on = srv.received()
    assert len(on) == 1 and on[0].tls and b"sent while on" in on[0].content, on
    off = trap25.received()
    assert len(off) == 1 and not off[0].tls and b"sent after off" in off[0].content, off


def test_env_takes_the_wrappers_checks():
    # a setting that cannot work is refused here, as `smtpshim --` would
    p = subprocess.run([str(SMTPSHIM), "env", "--port", "25"], capture_output=True,
                       text=True, timeout=30, env={**os.environ, "SMTPSHIM_CONFIG": ""})
    assert p.returncode == 2 and "intercept" in p.stderr and not p.stdout, p
    p = subprocess.run([str(SMTPSHIM), "env", "sideways"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and "'sideways' is neither on nor off" in p.stderr


def test_env_keeps_other_preloads(tmp_path):
    other = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    env = {**os.environ, "SMTPSHIM_CONFIG": "", "LD_PRELOAD": other}
    on = subprocess.run([str(SMTPSHIM), "env"], capture_output=True, text=True, env=env)
    line = next(x for x in on.stdout.splitlines() if x.startswith("export LD_PRELOAD="))
    assert line.endswith(f"libsmtpshim.so:{other}'"), line
    env["LD_PRELOAD"] = line.split("=", 1)[1].strip("'")
    off = subprocess.run([str(SMTPSHIM), "env", "off"], capture_output=True, text=True, env=env)
    assert f"export LD_PRELOAD='{other}'" in off.stdout, off.stdout
