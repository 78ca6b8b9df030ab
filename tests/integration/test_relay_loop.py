"""The relay never intercepts itself (issue 7, finding 2): with the shim in
/etc/ld.so.preload it is loaded into smtpshim-relay too, and with an
upstream port the shim intercepts each relay would start another. The shim
is inert in smtpshim's own programs, and a configuration whose upstream
port is intercepted is refused: exit 2 from the wrapper, a 421 otherwise.
/etc/ld.so.preload is written inside the test namespace's overlays only."""
import os
import subprocess
import time

import pytest

from harness.checks import assert_nothing_stored, assert_refused
from harness.clients import SMTPSHIM, run_client
from harness.programs import relays
from harness.system_wide import SystemWide


@pytest.fixture
def system_wide(tmp_path):
    sw = SystemWide(tmp_path / "overlays")
    yield sw
    sw.remove()
    # a storm (before the fix) outlives its program: end it
    for _ in range(50):
        left = relays()
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.1)


def test_upstream_port_25_with_preload_everywhere_starts_no_relay_and_is_a_421(
        system_wide, message, pki, trap25):
    system_wide.install(f"ca-file {pki.ca_file}\nallow-loopback yes\nmode tls\nport 25\n")
    system_wide.preload_everywhere()
    before = set(relays())
    run = run_client("smtplib", message, env={"SMTPSHIM_CONFIG": None})
    started = set()
    for _ in range(20):                 # two seconds: a storm makes ~20 a second
        started |= set(relays()) - before
        time.sleep(0.1)
    assert not started, f"{len(started)} relays started\n{run.describe()}"
    assert_refused(run, "the upstream port 25 is also a port smtpshim intercepts")
    assert_nothing_stored(trap25)


def test_shim_is_inert_in_smtpshim_probe(system_wide, pki, trap25):
    # a valid configuration; the probe's own plain connection to port 25
    # must reach the server, not a relay
    system_wide.install(f"ca-file {pki.ca_file}\nallow-loopback yes\nmode tls\nport 465\n"
                        "timeout 3\n")
    system_wide.preload_everywhere()
    relay = SMTPSHIM.parent / "smtpshim-relay"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPSHIM_")}
    p = subprocess.run([str(relay), "--probe", "mail.test"], capture_output=True, text=True,
                       timeout=60, env=env)
    port25 = p.stdout.split("port 25 ", 1)[-1].split("port 465")[0]
    assert "reachable" in port25, p.stdout + p.stderr
    # the trap's own plaintext greeting, not a relay's 421
    assert "smtpshim" not in port25 and "220" in port25, p.stdout


@pytest.mark.parametrize("args", [["--port", "25"], ["--port", "587", "--intercept", "25,587"],
                                  ["--relay", "mail.test:25"],
                                  ["--mode", "starttls", "--intercept", "25,587"]],
                         ids=["port", "intercept", "relay", "mode"])
def test_wrapper_refuses_an_upstream_port_it_intercepts(args):
    p = subprocess.run([str(SMTPSHIM), *args, "--", "true"], capture_output=True, text=True,
                       env={**os.environ, "SMTPSHIM_CONFIG": ""})
    assert p.returncode == 2, p
    assert "is also a port smtpshim intercepts" in p.stderr, p.stderr
