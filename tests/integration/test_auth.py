"""AUTH injection: programs that cannot authenticate deliver through relays
that demand it. The relay authenticates over verified TLS with the
configured credentials (PLAIN, LOGIN, XOAUTH2), then the program is served
as if the server needed nothing; without configured credentials the
program's own AUTH passes through, over TLS."""
import base64
import os

import pytest

from harness.checks import assert_nothing_stored, assert_refused, first_difference
from harness.clients import run_client, shim_args
from harness.hostile import HostileServer
from harness.raw_client import run_raw

USERS = {"alice": "correct horse battery staple"}
TOKENS = {"alice": "ya29.test-access-token"}


@pytest.fixture
def secret_file(tmp_path):
    def make(text, mode=0o600):
        path = tmp_path / f"secret-{mode:o}"
        path.write_text(text + "\n")
        path.chmod(mode)
        return path
    return make


@pytest.fixture
def auth_server(start_server):
    """STARTTLS server that refuses MAIL before AUTH; PLAIN, LOGIN, XOAUTH2."""
    return start_server("starttls", users=USERS, tokens=TOKENS, auth_required=True)


def assert_delivered_as(server, run, user, mech):
    """One message, byte-identical, over TLS, authenticated as user with mech."""
    assert run.returncode == 0, run.describe()
    got = server.received()
    assert len(got) == 1, f"server stored {len(got)} messages\n{run.describe()}"
    m = got[0]
    assert (m.mail_from, m.rcpt_tos) == (run.mail_from, run.rcpts)
    assert m.content == run.expected, first_difference(m.content, run.expected)
    assert m.tls and m.tls_version in ("TLSv1.2", "TLSv1.3"), m.tls_version
    assert (m.auth_user, m.auth_mech) == (user, mech), run.describe()


def auth_args(pki, server, *extra):
    return [*shim_args(pki, mode="starttls"), "--relay", f"mail.test:{server.port}", "--user", "alice",
            *extra]


def assert_wrapper_refuses(pw, message, pki, server, *causes):
    """smtpshim itself refuses password file pw (exit 2), naming each of
    causes, and nothing reaches the server."""
    run = run_client("smtplib", message,
                     shim=auth_args(pki, server, "--password-file", str(pw)))
    assert run.returncode == 2, run.describe()
    for cause in causes:
        assert cause in run.output, run.describe()
    assert_nothing_stored(server)


@pytest.mark.parametrize("mech", ["plain", "login"])
def test_client_without_auth_delivers_with_injected_password(client, mech, message, pki,
                                                             auth_server, secret_file,
                                                             trap25, smtpshim):
    pw = secret_file(USERS["alice"])
    run = run_client(client, message,
                     shim=auth_args(pki, auth_server, "--password-file", str(pw), "--auth", mech))
    assert_delivered_as(auth_server, run, "alice", mech.upper())
    assert_nothing_stored(trap25)


def test_client_without_auth_delivers_with_xoauth2_token_from_command(
        client, message, pki, auth_server, secret_file, trap25, smtpshim):
    token = secret_file(TOKENS["alice"])
    run = run_client(client, message,
                     shim=auth_args(pki, auth_server, "--auth", "xoauth2",
                                    "--password-command", f"cat {token}"))
    assert_delivered_as(auth_server, run, "alice", "XOAUTH2")


def test_auto_picks_plain_over_implicit_tls(message, pki, start_server, secret_file, smtpshim):
    srv = start_server("implicit", users=USERS, tokens=TOKENS, auth_required=True)
    pw = secret_file(USERS["alice"])
    run = run_client("smtplib", message,
                     shim=[*shim_args(pki, mode="tls"), "--relay", f"mail.test:{srv.port}", "--user", "alice",
                           "--password-file", str(pw)])
    assert_delivered_as(srv, run, "alice", "PLAIN")


@pytest.mark.parametrize("mech", ["plain", "login"])
def test_wrong_password_shows_the_servers_535_inside_a_4xx(client, mech, message, pki,
                                                          auth_server, secret_file, smtpshim):
    pw = secret_file("not the password")
    run = run_client(client, message,
                     shim=auth_args(pki, auth_server, "--password-file", str(pw), "--auth", mech))
    assert_refused(run, f"rejected AUTH {mech.upper()} as alice",
                   "535 5.7.8 Authentication credentials invalid")
    assert_nothing_stored(auth_server)


def test_wrong_token_shows_the_servers_535(message, pki, auth_server, smtpshim):
    run = run_client("swaks", message,
                     shim=auth_args(pki, auth_server, "--auth", "xoauth2",
                                    "--password-command", "echo expired-token"))
    assert_refused(run, "rejected AUTH XOAUTH2 as alice", "535 5.7.8")
    assert_nothing_stored(auth_server)


def test_world_readable_password_file_is_refused_by_the_wrapper(message, pki, auth_server,
                                                                 secret_file, smtpshim):
    pw = secret_file(USERS["alice"], mode=0o644)
    assert_wrapper_refuses(pw, message, pki, auth_server,
                           f"password-file {pw} is readable by group or others (mode 0644)",
                           "chmod 600")


def test_group_readable_password_file_is_refused_by_the_relay(client, message, pki,
                                                              auth_server, secret_file, smtpshim):
    # set in the environment, so only the relay (not the wrapper) sees it
    pw = secret_file(USERS["alice"], mode=0o640)
    run = run_client(client, message, shim=auth_args(pki, auth_server),
                     env={"SMTPSHIM_PASSWORD_FILE": str(pw)})
    assert_refused(run, f"password-file {pw} is readable by group or others (mode 0640)")
    assert_nothing_stored(auth_server)


def test_password_file_of_another_user_is_refused_by_the_wrapper(message, pki, auth_server,
                                                                 secret_file, smtpshim):
    # mode 600 is not enough: its owner could change it or open it up
    pw = secret_file(USERS["alice"])
    os.chown(pw, 65534, 65534)
    assert_wrapper_refuses(pw, message, pki, auth_server,
                           f"password-file {pw} is not used: it belongs to uid",
                           "neither this process's user (uid 0) nor root; use a file of your own")


def test_password_file_of_another_user_is_refused_by_the_relay(message, pki, auth_server,
                                                               secret_file, smtpshim):
    pw = secret_file(USERS["alice"])
    os.chown(pw, 65534, 65534)
    run = run_client("smtplib", message, shim=auth_args(pki, auth_server),
                     env={"SMTPSHIM_PASSWORD_FILE": str(pw)})
    assert_refused(run, f"password-file {pw} is not used: it belongs to uid",
                   "use a file of your own")
    assert_nothing_stored(auth_server)


def test_password_file_of_root_is_used_by_root(message, pki, auth_server, secret_file, smtpshim):
    pw = secret_file(USERS["alice"])
    os.chown(pw, 0, 0)
    run = run_client("smtplib", message,
                     shim=auth_args(pki, auth_server, "--password-file", str(pw)))
    assert_delivered_as(auth_server, run, "alice", "PLAIN")


def test_password_command_never_runs_when_tls_fails(message, pki, start_server, tmp_path,
                                                    smtpshim):
    srv = start_server("starttls", cert="untrusted", users=USERS, auth_required=True)
    marker = tmp_path / "ran"
    run = run_client("smtplib", message,
                     shim=auth_args(pki, srv, "--password-command",
                                    f"touch {marker}; echo pw"))
    assert_refused(run, "certificate verify failed")
    assert not marker.exists(), "the password command ran for an unverified server"
    assert_nothing_stored(srv)


def test_verbose_log_never_shows_the_secret(message, pki, auth_server, secret_file, smtpshim):
    pw = secret_file(USERS["alice"])
    secret = USERS["alice"].encode()
    encodings = [base64.b64encode(b"\0alice\0" + secret), base64.b64encode(secret)]
    for mech in ("plain", "login"):
        auth_server.messages.clear()
        run = run_client("swaks", message,
                         shim=[*auth_args(pki, auth_server, "--password-file", str(pw),
                                          "--auth", mech), "-v", "-v"])
        assert_delivered_as(auth_server, run, "alice", mech.upper())
        assert "authenticated as alice" in run.output, run.describe()
        out = run.output.encode()
        assert secret not in out and not any(e in out for e in encodings), run.describe()


# -- the program's own AUTH ----------------------------------------------------

@pytest.mark.parametrize("client_args", [
    ["--auth", "PLAIN", "--auth-user", "alice", "--auth-password", USERS["alice"]],
    ["--auth", "LOGIN", "--auth-user", "alice", "--auth-password", USERS["alice"]],
], ids=["plain", "login"])
def test_client_with_its_own_auth_authenticates_through_the_tunnel(
        client_args, message, pki, auth_server, trap25, smtpshim):
    # swaks offers AUTH only because the server does: over TLS, via the relay
    run = run_client("swaks", message, client_args=client_args,
                     shim=shim_args(pki, mode="starttls", port=auth_server.port))
    mech = client_args[1]
    assert_delivered_as(auth_server, run, "alice", mech)
    assert_nothing_stored(trap25)


def test_curl_with_its_own_auth_authenticates_through_the_tunnel(message, pki, auth_server,
                                                                 smtpshim):
    run = run_client("curl", message, shim=shim_args(pki, mode="starttls", port=auth_server.port),
                     client_args=["--user", f"alice:{USERS['alice']}"])
    got = auth_server.received()
    assert run.returncode == 0 and len(got) == 1, run.describe()
    assert got[0].auth_user == "alice" and got[0].tls


def test_program_auth_is_answered_locally_once_the_relay_has_authenticated(
        message, pki, auth_server, secret_file, tmp_path, smtpshim):
    pw = secret_file(USERS["alice"])
    # a program that authenticates whether or not AUTH is offered, LOGIN
    # style: it must get its 334 prompts (not hang) and a 235
    script = r'''
say(b"EHLO client.test\r\n")
say(b"AUTH LOGIN\r\n")
say(b"Ym9i\r\n")                   # "bob"
say(b"d3JvbmctcGFzc3dvcmQ=\r\n")
say(b"MAIL FROM:<bob@client.test>\r\n")
say(b"RCPT TO:<carol@mail.test>\r\n")
say(b"DATA\r\n")
say(b"Subject: x\r\n\r\nhello\r\n.\r\n")
say(b"QUIT\r\n")
'''
    proc, out = run_raw(pki, auth_server, script, "--relay", f"mail.test:{auth_server.port}",
                        "--user", "alice", "--password-file", str(pw), tmp_path=tmp_path)
    assert proc.returncode == 0, out
    ehlo = next(line for line in out.splitlines() if line.startswith("EHLO"))
    assert "AUTH" not in ehlo and "STARTTLS" not in ehlo, ehlo
    assert "AUTH -> 334 VXNlcm5hbWU6" in out and "-> 334 UGFzc3dvcmQ6" in out, out
    assert "-> 235" in out, out
    got = auth_server.received()
    assert len(got) == 1 and got[0].auth_user == "alice", out  # the relay's user, not bob


# -- HELO-only programs and the envelope --------------------------------------

def test_helo_only_client_delivers_with_injected_auth(message, pki, auth_server, secret_file,
                                                      smtpshim):
    pw = secret_file(USERS["alice"])
    run = run_client("swaks", message, client_args=["--protocol", "SMTP"],
                     shim=auth_args(pki, auth_server, "--password-file", str(pw)))
    assert_delivered_as(auth_server, run, "alice", "PLAIN")
    sent = [line for line in run.output.splitlines() if line.startswith(" -> ")]
    assert any(line.startswith(" -> HELO ") for line in sent), run.describe()
    helo_reply = [line for line in run.output.splitlines() if line.startswith("<-  250 ")][0]
    assert "via smtpshim" in helo_reply, run.describe()


def test_envelope_from_is_rewritten_for_relays_that_want_verified_senders(
        message, pki, auth_server, secret_file, smtpshim):
    pw = secret_file(USERS["alice"])
    run = run_client("smtplib", message,
                     shim=auth_args(pki, auth_server, "--password-file", str(pw),
                                    "--envelope-from", "verified@mail.test"))
    assert run.returncode == 0, run.describe()
    got = auth_server.received()
    assert len(got) == 1, run.describe()
    assert got[0].mail_from == "verified@mail.test"
    assert got[0].content == run.expected  # the message itself is untouched


# -- the greeting's claim ---------------------------------------------------

def greeting_of(run):
    return next((line for line in run.output.splitlines() if line.startswith("<-  220")),
                f"(no greeting)\n{run.describe()}")


def test_greeting_claims_authenticated_only_when_it_is(message, pki, start_server,
                                                      secret_file, smtpshim):
    pw = secret_file(USERS["alice"])
    srv = start_server("starttls", users=USERS)
    run = run_client("swaks", message, shim=auth_args(pki, srv, "--password-file", str(pw)))
    assert run.returncode == 0, run.describe()
    assert "authenticated)" in greeting_of(run)
    # a server whose EHLO offers no AUTH (the hostile one's does not): the
    # relay sends as it is, and must not claim otherwise
    with HostileServer("drop-in-data", pki.mail) as bare:
        run = run_client("swaks", message,
                         shim=[*shim_args(pki, mode="tls"), "--relay", f"mail.test:{bare.port}", "--user", "alice",
                               "--password-file", str(pw)])
    greeting = greeting_of(run)
    assert greeting.startswith("<-  220 mail.test ESMTP via smtpshim (TLS to "), greeting
    assert "authenticated" not in greeting, greeting
