"""What the relay's filter must not let through in a message, end to end
under the shim: a "." line next to a bare LF or a bare CR (SMTP
smuggling) ends the session with a 421, BDAT too; a bare-LF message that
is dot-stuffed is delivered as it was sent."""
import pytest

from harness.checks import assert_nothing_stored
from harness.hostile import HostileServer
from harness.raw_client import run_raw


# What each session's script says before its test's own lines: the
# envelope, then (for the message content tests) DATA.
ENVELOPE = r'''
say(b"EHLO client.test\r\n")
say(b"MAIL FROM:<alice@client.test>\r\n")
say(b"RCPT TO:<bob@mail.test>\r\n")
'''
IN_DATA = ENVELOPE + r'''
say(b"DATA\r\n")
'''


def test_smuggled_end_of_data_is_refused(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls")
    script = IN_DATA + r'''
# "\n.\n" ends the message for servers that take a bare LF as a line end
say(b"Subject: hello\r\n\r\nhi\n.\nMAIL FROM:<ceo@mail.test>\r\nRCPT TO:<bob@mail.test>\r\n"
    b"DATA\r\nSubject: smuggled\r\n\r\npay now\r\n.\r\n")
'''
    proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    assert "421 4.5.0 smtpshim: the message has a line \".\" ended by a bare LF" in out, out
    assert "(SMTP smuggling); refused" in out, out
    assert_nothing_stored(srv)


@pytest.mark.parametrize("dot_line", [b"\r.\r", b"\r.\n", b"\r\n.\r"],
                         ids=["bare-CR-both-sides", "bare-CR-before-bare-LF-after",
                              "CRLF-before-bare-CR-after"])
def test_dot_line_next_to_a_bare_cr_is_refused(dot_line, pki, tmp_path, smtpshim):
    """Against a server that takes a bare CR for a line end (a "clean CR/LF"
    appliance), a "." line next to a bare CR would end the message and run
    what follows as commands of this session."""
    srv = HostileServer("cr-lines", pki.mail).start()
    try:
        script = IN_DATA + r'''
say(b"Subject: hello\r\n\r\nhi" + %r + b"MAIL FROM:<ceo@mail.test>\r\n"
    b"RCPT TO:<eve@mail.test>\r\nDATA\r\nSubject: smuggled\r\n\r\npay now\r\n.\r\n")
''' % dot_line
        proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    finally:
        srv.stop()
    assert "Subject: -> 421 4.5.0 smtpshim: the message has a line \".\"" in out, out
    assert "(SMTP smuggling); refused" in out, out
    assert not srv.stored, f"stored {srv.stored}\n{srv.describe()}"
    conns = srv.received()
    assert conns, out
    for c in conns:
        assert b"ceo@mail.test" not in c.tls and b"eve@mail.test" not in c.tls, srv.describe()
        assert b"MAIL FROM:<alice@client.test>" in c.tls, srv.describe()


def test_bare_lf_message_that_is_dot_stuffed_is_delivered(pki, start_server, tmp_path,
                                                          smtpshim):
    srv = start_server("starttls")
    script = IN_DATA + r'''
say(b"Subject: bare LF\n\nline\n..\n..dot\nlast\n\r\n.\r\n")
say(b"QUIT\r\n")
'''
    proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    assert "Subject: -> 250" in out, out
    got = srv.received()
    assert len(got) == 1, out
    # (aiosmtpd takes only CRLF for a line end, so it unstuffs none of these dots)
    assert got[0].content == b"Subject: bare LF\n\nline\n..\n..dot\nlast\n\r\n", got[0].content


def test_bdat_ends_the_session_with_a_421(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls")
    script = ENVELOPE + r'''
say(b"BDAT 23 LAST\r\nRCPT TO:<eve@mail.test>\r\n")
'''
    proc, out = run_raw(pki, srv, script, tmp_path=tmp_path)
    assert "BDAT -> 421 4.5.0 smtpshim: BDAT is refused" in out, out
    assert_nothing_stored(srv)
