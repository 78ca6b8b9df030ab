"""TCP Fast Open is a connect too: exim opens its SMTP connections with
sendto(MSG_FASTOPEN) and never calls connect(); sendmsg() can do the same;
and a TCP_FASTOPEN_CONNECT socket may defer its SYN until the first write,
which an SMTP client -- waiting for the server's greeting -- never makes.
Without interception these connections would reach port 25 in plaintext:
trap25 is there to catch that."""
from pathlib import Path

import pytest

from harness.checks import assert_nothing_stored
from harness.programs import assert_program_delivered
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401

TCP_FASTOPEN = Path("/proc/sys/net/ipv4/tcp_fastopen")


@pytest.fixture(params=[1, 5], ids=["tfo-default", "tfo-no-cookie"])
def tcp_fastopen(request):
    """net.ipv4.tcp_fastopen of the test's network namespace: 1 is the
    default (client side on, a SYN is deferred only with a cached cookie);
    5 adds TFO_CLIENT_NO_COOKIE, so the kernel defers every Fast Open
    connect's SYN -- what a host with a cookie for the destination sees."""
    old = TCP_FASTOPEN.read_text()
    TCP_FASTOPEN.write_text(str(request.param))
    yield request.param
    TCP_FASTOPEN.write_text(old)


@pytest.mark.parametrize("flags", ["dontwait", "blocking"])
def test_sendto_fastopen_connects(flags, tcp_fastopen, run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("sendto_fastopen_connects", srv, flags)
    assert_nothing_stored(trap25)
    assert_program_delivered(srv, run, "writable, SO_ERROR 0", "getpeername: 127.0.0.1:25")


def test_sendmsg_fastopen_connects(tcp_fastopen, run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("sendmsg_fastopen_connects", srv)
    assert_nothing_stored(trap25)
    assert_program_delivered(srv, run, "writable, SO_ERROR 0", "getpeername: 127.0.0.1:25")


def test_tcp_fastopen_connect_socket(tcp_fastopen, run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("tcp_fastopen_connect_socket", srv)
    assert_nothing_stored(trap25)
    assert_program_delivered(srv, run, "connect: 0")
