"""The fault run (harness/fault_run.py): exim4 queues messages and delivers
them through the system-wide shim to an upstream that fails at random
(refusals, resets, FINs, stalls, 4xx and 5xx at every stage, faults inside
DATA and after the final dot), with relays killed at random; after a
healthy queue run nothing is lost, every message is delivered intact or
bounced with the server's own 5xx, exim never logged a 250 the server did
not give, and the only duplicates come from sessions that died after the
final dot.

SMTPSHIM_FAULT_MESSAGES sets the number of messages (default 48; `make
faults` runs 500), SMTPSHIM_FAULT_SEED the seed of the schedule.
"""
import os

import pytest

from harness.exim import EXIM, shim_config
from harness.fault_run import fault_exim, fault_run, shim_sections
from harness.faulty import FaultServer
from harness.system_wide import system_wide  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(not EXIM, reason="exim4 (exim4-daemon-light) is not installed")

MESSAGES = int(os.environ.get("SMTPSHIM_FAULT_MESSAGES", "48"))
SEED = int(os.environ.get("SMTPSHIM_FAULT_SEED", "7"))


@pytest.fixture
def exim():
    e = fault_exim()
    yield e
    e.remove()


@pytest.fixture
def fault_server(pki):
    with FaultServer(pki.mail, SEED) as srv:
        yield srv


def test_faults_and_relay_kills_lose_no_mail_and_fake_no_250(exim, system_wide, pki,
                                                            fault_server, capsys):
    system_wide.install(shim_config(exim, pki, fault_server.port("implicit"),
                                    extra=shim_sections(fault_server)))
    outcome = fault_run(exim, fault_server, MESSAGES, SEED)
    with capsys.disabled():
        print(f"\nfault run, seed {SEED}:\n{outcome.figures.text()}")
    f = outcome.figures
    assert not outcome.problems, (
        f"{len(outcome.problems)} problem(s):\n" + "\n".join(outcome.problems[:30])
        + f"\n{f.text()}\n--- exim mainlog (last 4000 chars) ---\n{outcome.mainlog[-4000:]}")
    assert f.accepted == MESSAGES and f.delivered + f.bounced == f.accepted, f.text()
    assert f.duplicates_other == 0, f.text()
    # the run really was hostile
    assert f.relay_kills > 0 and sum(f.faults_by_kind.values()) > 0, f.text()
