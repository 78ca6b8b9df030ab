"""Against a server that misbehaves on purpose (harness/hostile.py), smtpshim
fails closed: the client reads a 421 naming the cause and exits non-zero, the
server never receives a byte of the client's session in plaintext (only the
relay's own EHLO and STARTTLS), and nothing reaches port 25 either.

Where a relay that missed the misbehaviour could carry on, the hostile server
carries on as an ordinary accepting server, so such a relay would make the
client succeed and these tests fail."""
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.checks import _REPLY_421, assert_nothing_stored, assert_refused
from harness.clients import CLIENTS, run_client, shim_args
from harness.hostile import HostileServer

# the relay's own words before TLS: "EHLO <its host name>", then "STARTTLS"
RELAY_EHLO = rb"EHLO [!-~]+\r\n"


@pytest.fixture
def hostile(pki):
    """hostile(behaviour, **options) -> HostileServer on a free port, stopped
    at the end."""
    started = []

    def start(behaviour, **options):
        srv = HostileServer(behaviour, pki.mail, **options).start()
        started.append(srv)
        return srv

    yield start
    for srv in reversed(started):
        srv.stop()


def run_shimmed(client, message, pki, srv, mode, *extra):
    return run_client(client, message, shim=[*shim_args(pki, mode=mode, port=srv.port), *extra])


def causes(run):
    """The texts after 'smtpshim: ' of every 421 the client printed."""
    return [m.group(1) for m in map(_REPLY_421.search, run.output.splitlines()) if m]


def client_markers(message):
    """Bytes that only the client's session contains."""
    return [b"MAIL FROM", b"RCPT TO", b"client.test", message.mail_from.encode(),
            *(r.encode() for r in message.rcpts), b"smtpshim integration test",
            b"end of message"]


def assert_nothing_leaked(srv, message, *, plain, decrypted_too=True, connections=1):
    """plain: a regex the plaintext each connection received must match in
    full. No connection carried any of the client's bytes outside TLS (nor,
    with decrypted_too, inside it: the client never got to speak), and the
    hostile server stored no message."""
    conns = srv.received()
    assert len(conns) == connections, \
        f"{len(conns)} connection(s) to the hostile server, want {connections}\n{srv.describe()}"
    for c in conns:
        parts = {"plaintext": c.plain, "raw bytes after the TLS switch": c.tls_raw}
        if decrypted_too:
            parts["TLS session"] = c.tls
        for what, got in parts.items():
            low = bytes(got).lower()
            for marker in client_markers(message):
                assert marker.lower() not in low, \
                    f"{marker!r} reached the server in its {what}\n{srv.describe()}"
        assert re.fullmatch(plain, bytes(c.plain), re.S), \
            f"unexpected plaintext at the server\n{srv.describe()}"
    assert not srv.stored, f"the hostile server stored {len(srv.stored)} message(s)"


def tls_came_up(srv):
    return any(e.startswith("tls up") for c in srv.received() for e in c.events)


# -- STARTTLS (--mode starttls) ---------------------------------------------

def test_bytes_after_starttls_220_abort_the_session(client, message, pki, hostile, trap25,
                                                    smtpshim):
    srv = hostile("inject")
    run = run_shimmed(client, message, pki, srv, "starttls")
    assert_refused(run, f"mail.test:{srv.port} sent data after its STARTTLS reply",
                   "possible STARTTLS injection attack")
    # the relay sent EHLO and STARTTLS, then stopped: not even a ClientHello
    assert_nothing_leaked(srv, message, plain=RELAY_EHLO + rb"STARTTLS\r\n")
    assert not srv.received()[0].tls_raw, srv.describe()
    assert_nothing_stored(trap25)


def test_bytes_arriving_just_after_starttls_220_fail_the_session(client, message, pki, hostile,
                                                                 trap25, smtpshim):
    # The injected line comes ~50 ms after the 220: after the relay's check,
    # in front of the server's TLS handshake. It must end the session either
    # way -- as an injection, or as a TLS handshake that cannot succeed.
    srv = hostile("inject-late")
    run = run_shimmed(client, message, pki, srv, "starttls")
    assert_refused(run)
    said = causes(run)
    assert any("possible STARTTLS injection attack" in c
               or f"TLS with mail.test:{srv.port} failed" in c for c in said), \
        f"neither an injection nor a TLS failure reported: {said}\n{run.describe()}"
    assert not tls_came_up(srv), srv.describe()
    assert_nothing_leaked(srv, message, plain=RELAY_EHLO + rb"STARTTLS\r\n")
    assert_nothing_stored(trap25)


def test_starttls_only_counts_as_a_whole_keyword(client, message, pki, hostile, trap25,
                                                 smtpshim):
    # EHLO offers XSTARTTLS and STARTTLSX, which are not STARTTLS
    srv = hostile("substring")
    run = run_shimmed(client, message, pki, srv, "starttls")
    assert_refused(run, f"mail.test:{srv.port} does not offer STARTTLS",
                   "refusing to send in plaintext")
    # no STARTTLS was even tried, and nothing followed the EHLO
    assert_nothing_leaked(srv, message, plain=RELAY_EHLO)
    assert_nothing_stored(trap25)


def test_starttls_refused_with_454_fails_closed(client, message, pki, hostile, trap25,
                                                smtpshim):
    # the server would go on in plaintext; the relay must not
    srv = hostile("refuse-454")
    run = run_shimmed(client, message, pki, srv, "starttls")
    assert_refused(run, f"mail.test:{srv.port} refused STARTTLS",
                   "454 4.7.0 TLS not available")
    assert_nothing_leaked(srv, message, plain=RELAY_EHLO + rb"STARTTLS\r\n(QUIT\r\n)?")
    assert_nothing_stored(trap25)


def test_554_greeting_fails_closed(client, message, pki, hostile, trap25, smtpshim):
    srv = hostile("greeting-554")
    run = run_shimmed(client, message, pki, srv, "starttls")
    assert_refused(run, f"mail.test:{srv.port} refused the session", "554 go away")
    # not even an EHLO after a 554 greeting (a QUIT would be polite)
    assert_nothing_leaked(srv, message, plain=rb"(QUIT\r\n)?")
    assert_nothing_stored(trap25)


# -- broken replies, before (starttls) and inside (tls) TLS ------------------

@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_non_smtp_greeting_fails_closed(client, mode, message, pki, hostile, trap25, smtpshim):
    # "HTTP/1.1 400 Bad Request" as the greeting
    srv = hostile("garbage" if mode == "tls" else "garbage-plain")
    run = run_shimmed(client, message, pki, srv, mode)
    phrases = ["reply line does not start with a 3-digit code", f"mail.test:{srv.port}"]
    if mode == "starttls":
        phrases.append("not an SMTP server")
    assert_refused(run, *phrases)
    assert_nothing_leaked(srv, message, plain=b"" if mode == "tls" else rb"(QUIT\r\n)?")
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_endless_reply_line_is_cut_off(client, mode, message, pki, hostile, trap25, smtpshim):
    # a 1 MiB greeting line without a newline (ended only after 0.5 s, for a
    # relay that would otherwise wait for it)
    srv = hostile("huge-line" if mode == "tls" else "huge-line-plain")
    run = run_shimmed(client, message, pki, srv, mode)
    phrases = ["reply line too long", f"mail.test:{srv.port}"]
    if mode == "starttls":
        phrases.append("not an SMTP server")
    assert_refused(run, *phrases)
    assert_nothing_leaked(srv, message, plain=b"" if mode == "tls" else rb"(QUIT\r\n)?")
    assert_nothing_stored(trap25)


def test_reply_with_too_many_lines_is_cut_off(client, message, pki, hostile, trap25, smtpshim):
    # a 1000-line greeting (inside TLS); the relay keeps at most 128 lines
    srv = hostile("many-lines")
    run = run_shimmed(client, message, pki, srv, "tls")
    assert_refused(run, f"mail.test:{srv.port} greeting: not an SMTP server (reply has too many lines)")
    assert_nothing_leaked(srv, message, plain=b"")
    assert_nothing_stored(trap25)


# -- the server goes away in the middle of the message (--mode tls) ---------

@pytest.mark.parametrize("how", ["drop-in-data", "drop-in-data-fin"])
def test_server_vanishing_mid_message_is_never_success(client, how, message, pki, hostile,
                                                       trap25, smtpshim):
    # TCP reset, or a bare FIN without TLS close_notify, while the client is
    # sending the 256 KiB message after DATA's 354
    srv = hostile(how)
    run = run_shimmed(client, message, pki, srv, "tls")
    events = [e for c in srv.received() for e in c.events]
    assert "354" in events and any(e.startswith("dropping") for e in events), srv.describe()
    assert run.returncode != 0, f"the client reported success\n{run.describe()}"
    # every one of the five clients prints the final reply it got: the 421
    assert_refused(run, f"mail.test:{srv.port} closed the connection before replying")
    # the message went over TLS only (the server read part of it there)
    assert_nothing_leaked(srv, message, plain=b"", decrypted_too=False)
    assert_nothing_stored(trap25)


def test_server_vanishing_after_the_message_is_never_success(client, message, pki, hostile,
                                                             trap25, smtpshim):
    # the whole message arrives, then a TCP reset instead of the final reply
    srv = hostile("drop-after-data")
    run = run_shimmed(client, message, pki, srv, "tls")
    events = [e for c in srv.received() for e in c.events]
    assert any(e.startswith("dropping after the whole message") for e in events), \
        srv.describe()
    assert_refused(run, f"mail.test:{srv.port} closed the connection before replying")
    assert_nothing_leaked(srv, message, plain=b"", decrypted_too=False)
    assert_nothing_stored(trap25)


# -- a server that never speaks ----------------------------------------------

@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_silent_server_times_out(mode, message, pki, hostile, trap25, smtpshim):
    # All five clients at once (each waits out --timeout 2): a hang shows up
    # as a client killed by the harness after 60 s.
    srv = hostile("silent")
    started = time.monotonic()
    with ThreadPoolExecutor(len(CLIENTS)) as pool:
        runs = dict(zip(sorted(CLIENTS), pool.map(
            lambda c: (run_shimmed(c, message, pki, srv, mode, "--timeout", "2"),
                       time.monotonic() - started),
            sorted(CLIENTS))))
    phrase = (f"mail.test:{srv.port} greeting: no reply in time" if mode == "starttls"
              else f"TLS with mail.test:{srv.port} failed: handshake timed out")
    for name, (run, took) in runs.items():
        assert_refused(run, phrase)
        assert took < 15, f"{name} took {took:.1f}s with --timeout 2\n{run.describe()}"
    # starttls: the relay waited for the greeting in silence;
    # tls: it sent a ClientHello (a TLS handshake record) and nothing else
    assert_nothing_leaked(srv, message, plain=b"" if mode == "starttls" else rb"(\x16\x03.*)?",
                          connections=len(CLIENTS))
    assert_nothing_stored(trap25)


def test_server_mute_after_tls_handshake_times_out(message, pki, hostile, trap25, smtpshim):
    # handshake completes, then silence; the server hangs up after 4 s, by
    # which time --timeout 1 should long have produced a 421
    srv = hostile("mute-after-tls", quiet_for=4)
    started = time.monotonic()
    run = run_shimmed("smtplib", message, pki, srv, "tls", "--timeout", "1")
    took = time.monotonic() - started
    assert_refused(run)
    said = causes(run)
    assert any("in time" in c or "timed out" in c for c in said), f"{said}\n{run.describe()}"
    assert took < 3.5, f"took {took:.1f}s with --timeout 1\n{run.describe()}"
    assert_nothing_leaked(srv, message, plain=b"")
    assert_nothing_stored(trap25)
