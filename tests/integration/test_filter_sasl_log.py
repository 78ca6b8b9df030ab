"""The verbose log (-v) never shows a SASL response the app pipelines:
not after AUTH before the server's 334, nor a password sent on after an
AUTH the server refused (the server still gets the app's lines)."""
import base64

from harness.hostile import HostileServer
from harness.raw_client import run_raw

USERS = {"alice": "correct horse battery staple"}


def test_pipelined_sasl_response_never_reaches_the_log(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls", users=USERS, auth_required=True)
    b64 = base64.b64encode(b"\0alice\0" + USERS["alice"].encode())
    script = r'''
say(b"EHLO client.test\r\n")
s.sendall(b"AUTH PLAIN\r\n" + %r + b"\r\n")   # the response without waiting for 334
show("AUTH", reply())
show("response", reply())
say(b"QUIT\r\n")
''' % b64
    proc, out = run_raw(pki, srv, script, "-v", tmp_path=tmp_path)
    assert "response -> 235" in out, out
    assert b64.decode() not in out, out
    assert "*** (SASL response)" in out, out


def test_password_pipelined_after_a_refused_auth_never_reaches_the_log(pki, tmp_path,
                                                                      smtpshim):
    """The app pipelines AUTH LOGIN, user name and password; the server
    has no such mechanism (504) and reads the two as commands. The -v log
    shows neither, however the server's replies to them read."""
    user = base64.b64encode(b"alice-the-user")
    password = base64.b64encode(b"hunter2 correct horse")
    srv = HostileServer("refuse-auth", pki.mail).start()
    try:
        script = r'''
say(b"EHLO client.test\r\n")
s.sendall(b"AUTH LOGIN\r\n" + %r + b"\r\n" + %r + b"\r\n")
show("AUTH", reply())
show("user", reply())
show("password", reply())
say(b"NOOP\r\n")
say(b"QUIT\r\n")
''' % (user, password)
        proc, out = run_raw(pki, srv, script, "-v", tmp_path=tmp_path)
    finally:
        srv.stop()
    assert "AUTH -> 504 5.5.4" in out, out
    assert "NOOP -> 250" in out, out
    assert "C: NOOP" in out, out    # the log is on, and shows later commands
    for secret in (password, user):
        assert secret.decode() not in out, out
    assert b"hunter2" not in out.encode(), out
    assert "C: AUTH LOGIN" in out, out
    # the app's lines did reach the server: only the log leaves them out
    assert password in bytes(srv.received()[0].tls), srv.describe()
