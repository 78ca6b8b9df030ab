"""Through smtpshim, every client's plain SMTP reaches the server over
verified TLS with the message byte-identical."""
import pytest

from harness.checks import assert_delivered, assert_nothing_stored
from harness.clients import run_client, shim_args
from harness.message import Message

# shim --mode -> what the upstream server speaks
UPSTREAM = {"tls": "implicit", "starttls": "starttls"}


def large_message() -> Message:
    """About 6 MiB whose lines of every length from 0 to 997 put line ends,
    leading dots and lone dots at every offset of the relay's 64 KiB queues
    and 16 KiB TLS records, where the queue's bytes wait or move."""
    lines, i = [], 0
    while sum(map(len, lines)) < 6 << 20:
        n = (i * 7919) % 998
        body = (f"{i:07d} " * (n // 8 + 1))[:n]
        lines.append([body, "." + body[1:], ".", ".." + body[2:]][i % 4] if n else "")
        i += 1
    data = "\r\n".join(["Subject: large", "", *lines, "end"]).encode() + b"\r\n"
    return Message("alice@client.test", ("bob@mail.test",), data)


@pytest.mark.parametrize("mode", sorted(UPSTREAM))
def test_large_message_arrives_byte_identical(mode, pki, start_server, trap25):
    srv = start_server(UPSTREAM[mode])
    run = run_client("smtplib", large_message(), shim=shim_args(pki, mode=mode, port=srv.port))
    assert_delivered(srv, run, tls=True)
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("mode", sorted(UPSTREAM))
def test_message_arrives_byte_identical_over_tls(client, mode, message, pki, start_server,
                                                 trap25, smtpshim):
    srv = start_server(UPSTREAM[mode])
    run = run_client(client, message, shim=shim_args(pki, mode=mode, port=srv.port))
    assert_delivered(srv, run, tls=True)
    assert_nothing_stored(trap25)


def test_starttls_mode_greets_client_and_hides_starttls(message, pki, start_server, trap25,
                                                        smtpshim):
    # swaks prints the whole dialog: "<-  " lines are what the client received.
    srv = start_server("starttls", starttls_over_tls=True)
    run = run_client("swaks", message, shim=shim_args(pki, mode="starttls", port=srv.port))
    assert_delivered(srv, run, tls=True)
    received = [line[4:] for line in run.output.splitlines() if line.startswith("<-  ")]
    assert received[0].startswith("220 ") and "smtpshim" in received[0], received[0]
    ehlo = [line for line in received if line.startswith("250")]
    assert ehlo, run.describe()
    assert not any("STARTTLS" in line.upper() for line in ehlo), ehlo


def test_auto_mode_prefers_implicit_tls_on_465(message, pki, start_server, trap25, smtpshim):
    tls465 = start_server("implicit", port=465)
    starttls587 = start_server("starttls", port=587)
    run = run_client("smtplib", message, shim=shim_args(pki))
    assert_delivered(tls465, run, tls=True)
    assert_nothing_stored(starttls587, trap25)


def test_auto_mode_falls_back_to_starttls_on_587(message, pki, start_server, trap25, smtpshim):
    # nothing listens on 465
    starttls587 = start_server("starttls", port=587)
    run = run_client("smtplib", message, shim=shim_args(pki))
    assert_delivered(starttls587, run, tls=True)
    assert_nothing_stored(trap25)
