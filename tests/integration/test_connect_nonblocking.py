"""How programs connect: non-blocking connects with poll/select/epoll, a
second connect() on the same socket, refusal seen through a connected
socket, SO_SNDTIMEO, and signals during blocking connects. Each test runs
one program from tests/programs under smtpshim against a real implicit-TLS
server."""
import pytest

from harness.checks import assert_nothing_stored
from harness.programs import assert_no_relay_left, assert_program_delivered
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401


@pytest.mark.parametrize("how", ["poll", "select", "epoll"])
def test_nonblocking_connect(how, run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("nonblocking_connect", srv, how)
    assert_program_delivered(srv, run, "connect: EINPROGRESS", f"{how}: writable, SO_ERROR 0",
                             "no descriptor left open")
    assert_nothing_stored(trap25)


def test_second_connect_reports_eisconn(run_program, start_server, trap25):
    # The program compares the answers with the kernel's for a socket the
    # shim does not touch; one relay and one message prove that the second
    # and third connect() made no second session (a spare relay would wait
    # for its connection and still be running).
    srv = start_server("implicit")
    run = run_program("second_connect_reports_eisconn", srv)
    assert_program_delivered(srv, run)
    assert any(f.startswith("connect answers as the kernel's:") and f.endswith(",EISCONN")
               for f in run.oks), run.describe()
    assert_nothing_stored(trap25)


def test_nonblocking_connect_reports_refusal(run_program, free_port, trap25):
    # Documented behaviour: the program's socket is connected (to the relay),
    # so SO_ERROR is 0; the refusal arrives as a 421 naming it.
    run = run_program("nonblocking_connect_reports_refusal", None, upstream_port=free_port)
    assert run.returncode == 0, run.describe()
    assert "SO_ERROR 0" in run.oks, run.describe()
    greeting = [f for f in run.oks if f.startswith("greeting: ")]
    assert greeting and greeting[0].startswith("greeting: 421 "), run.describe()
    assert "smtpshim" in greeting[0] and "Connection refused" in greeting[0], greeting[0]
    assert f"mail.test:{free_port}" in greeting[0], greeting[0]
    assert_nothing_stored(trap25)
    assert_no_relay_left(run)


def test_blocking_connect_with_sndtimeo(run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("blocking_connect_with_sndtimeo", srv)
    assert_program_delivered(srv, run, "connect: 0 within SO_SNDTIMEO", "SO_SNDTIMEO still 3.5 s")
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("after_eintr", ["close", "retry"])
def test_connect_interrupted_by_signal(after_eintr, run_program, start_server, trap25):
    # 60 blocking connects under a 100 us SIGALRM without SA_RESTART: each
    # returns 0 or EINTR (the program insists on at least one EINTR, or
    # nothing was tested). After EINTR the socket is closed, or connect()
    # is called again on it until the kernel says it is connected -- and
    # the first such socket delivers. Afterwards no descriptor (program)
    # and no relay (here) may be left.
    srv = start_server("implicit")
    run = run_program("connect_interrupted_by_signal", srv, after_eintr, "60")
    facts = ["no descriptor left open"]
    if after_eintr == "retry":
        facts.append("connect() again after EINTR completed the connection")
    assert_program_delivered(srv, run, *facts)
    assert any(f.startswith("60 connects under") for f in run.oks), run.describe()
    assert_nothing_stored(trap25)
