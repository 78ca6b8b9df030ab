"""The relay's log line per session (issue 9): one line at each session's
end, to syslog by default (facility mail, ident smtpshim), or stderr, a
file, nowhere. The syslog tests own /dev/log: a socket of theirs, mounted
there in the test namespace (harness/syslog_sink.py)."""
import json
import os
import re
import stat
import subprocess
import time

import pytest

from harness.clients import PYTHON, SMTPSHIM, run_client, shim_args
from harness.hostile import HostileServer
from harness.syslog_sink import syslog_sink  # noqa: F401 (fixture)

USERS = {"alice": "s3cret-Pa55"}

# A client that says exactly these bytes and counts what it reads, so the
# line's byte counts can be checked to the byte; it prints its pid, the
# counts and every reply as JSON.
COUNTING_CLIENT = r'''
import json, os, socket, sys
script = json.loads(sys.argv[1])
s = socket.create_connection(("mail.test", 25), timeout=20)
sent, got, replies = 0, b"", []
def read_reply():
    global got
    lines = b""
    while True:
        chunk = b""
        while not chunk.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                return lines
            chunk += c
        got += chunk
        lines += chunk
        if chunk[3:4] != b"-":
            return lines
replies.append(read_reply().decode(errors="replace"))
for line in script:
    if not replies[-1].startswith(("2", "3")):
        break
    s.sendall(line.encode())
    sent += len(line)
    replies.append(read_reply().decode(errors="replace"))
s.close()
print(json.dumps({"pid": os.getpid(), "sent": sent, "got": len(got), "replies": replies}))
'''

MESSAGE = ["EHLO client.test\r\n", "MAIL FROM:<a@client.test>\r\n", "RCPT TO:<b@mail.test>\r\n",
           "DATA\r\n", "Subject: log line\r\n\r\nhello\r\n.\r\n", "QUIT\r\n"]


def run_counting(pki, port, tmp_path, *options, script=MESSAGE, mode="starttls"):
    path = tmp_path / "client.py"
    path.write_text(COUNTING_CLIENT)
    proc = subprocess.run([str(SMTPSHIM), *shim_args(pki, mode=mode, port=port), *options,
                           "--", PYTHON, str(path), json.dumps(script)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SMTPSHIM_CONFIG": "",
                               "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc


def fields(line):
    """key=value words, quoted values unescaped."""
    out = {}
    for m in re.finditer(r'(\w+)=("((?:[^"\\]|\\.)*)"|\S+)', line):
        v = m.group(3) if m.group(3) is not None else m.group(2)
        out[m.group(1)] = re.sub(r'\\(["\\])', r"\1", v)
    return out


def the_421(reply_text):
    """The 421 line the program read (the last line of its last reply)."""
    return reply_text.rstrip("\r\n").splitlines()[-1]


def test_delivered_session_is_one_syslog_line(pki, start_server, syslog_sink, tmp_path,
                                              smtpshim):
    srv = start_server("starttls")
    out, _ = run_counting(pki, srv.port, tmp_path)
    assert len(srv.received()) == 1
    lines = syslog_sink.lines(1)
    assert len(lines) == 1, lines
    prio, ident, line = lines[0]
    assert prio == (2 << 3) | 6, "mail facility, info level"
    assert re.fullmatch(r"smtpshim\[\d+\]", ident)
    f = fields(line)
    assert line.startswith("session ")
    assert f["prog"] == "python3" and f["pid"] == str(out["pid"])
    assert f["to"] == "127.0.0.1:25" and f["name"] == "mail.test"
    assert f["upstream"] == f"mail.test:{srv.port}"
    assert re.fullmatch(r"TLSv1\.[23]/\S+", f["tls"]), f
    assert "CN=mail.test" in f["cert"] and f["verify"] == "ok"
    assert f["auth"] == "none" and f["messages"] == "1"
    assert f["bytes_out"] == str(out["sent"]) and f["bytes_in"] == str(out["got"])
    assert int(f["ms"]) < 30000 and f["outcome"] == "delivered"
    assert "reply" not in f


def test_session_without_a_message_is_no_mail(pki, start_server, syslog_sink, tmp_path,
                                              smtpshim):
    srv = start_server("starttls")
    run_counting(pki, srv.port, tmp_path, script=["EHLO client.test\r\n", "QUIT\r\n"])
    f = fields(syslog_sink.lines(1)[0][2])
    assert (f["messages"], f["outcome"]) == ("0", "no-mail")


def test_injected_auth_names_mechanism_and_user_never_the_secret(
        pki, start_server, syslog_sink, tmp_path, smtpshim):
    srv = start_server("starttls", users=USERS, auth_required=True)
    pw = tmp_path / "pw"
    pw.write_text(USERS["alice"] + "\n")
    pw.chmod(0o600)
    run_counting(pki, srv.port, tmp_path, "--relay", f"mail.test:{srv.port}", "--user", "alice",
                 "--password-file", str(pw), "--auth", "plain")
    line = syslog_sink.lines(1)[0][2]
    f = fields(line)
    assert (f["auth"], f["user"], f["outcome"]) == ("PLAIN", "alice", "delivered"), line
    assert USERS["alice"] not in line
    assert "czNjcmV0" not in line and "AGFsaWNl" not in line  # no base64 of it either


def test_programs_own_auth_names_its_mechanism_never_its_response(
        pki, start_server, syslog_sink, tmp_path, smtpshim):
    import base64
    srv = start_server("starttls", users=USERS, auth_required=True)
    blob = base64.b64encode(b"\0alice\0" + USERS["alice"].encode()).decode()
    run_counting(pki, srv.port, tmp_path,
                 script=["EHLO client.test\r\n", f"AUTH PLAIN {blob}\r\n", *MESSAGE[1:]])
    line = syslog_sink.lines(1)[0][2]
    f = fields(line)
    assert (f["auth"], f["outcome"]) == ("program:PLAIN", "delivered"), line
    assert blob not in line and USERS["alice"] not in line


@pytest.fixture
def hostile(pki):
    """hostile(behaviour) -> a HostileServer, stopped at the end of the test."""
    started = []

    def start(behaviour):
        srv = HostileServer(behaviour, None if behaviour == "silent" else pki.mail)
        started.append(srv.start())
        return srv
    yield start
    for srv in started:
        srv.stop()


# failure kind -> (the server: from start_server or hostile, upstream mode,
#                  what verify= says)
FAILURES = {
    "certificate-not-verified": (lambda s, h: s("starttls", cert="untrusted").port, "starttls",
                                 "failed"),
    "no-starttls": (lambda s, h: s("plain-no-starttls", cert=None).port, "starttls", "-"),
    "starttls-injection": (lambda s, h: h("inject").port, "starttls", "-"),
    "server-refused": (lambda s, h: h("refuse-454").port, "starttls", "-"),
    "protocol-error": (lambda s, h: h("garbage").port, "tls", "ok"),  # inside verified TLS
    "timeout": (lambda s, h: h("silent").port, "starttls", "-"),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_each_setup_failure_logs_its_kind_and_the_421_the_program_read(
        kind, pki, start_server, hostile, syslog_sink, tmp_path, smtpshim):
    make, mode, verify = FAILURES[kind]
    port = make(start_server, hostile)
    out, _ = run_counting(pki, port, tmp_path, "--timeout", "2", mode=mode)
    assert out["replies"][0].startswith("421 "), out
    prio, _, line = syslog_sink.lines(1)[0]
    f = fields(line)
    assert f["outcome"] == kind, line
    assert f["reply"] == the_421(out["replies"][0]), line
    assert prio == (2 << 3) | 4, "mail facility, warning level"
    assert f["verify"] == verify, line


def test_nothing_listening_is_connect_failed(pki, free_port, syslog_sink, tmp_path, smtpshim):
    out, _ = run_counting(pki, free_port, tmp_path)
    f = fields(syslog_sink.lines(1)[0][2])
    assert f["outcome"] == "connect-failed"
    assert f["reply"] == the_421(out["replies"][0])


def test_wrong_password_is_auth_failed_without_the_password(
        pki, start_server, syslog_sink, tmp_path, smtpshim):
    srv = start_server("starttls", users=USERS, auth_required=True)
    pw = tmp_path / "pw"
    pw.write_text("not-the-password\n")
    pw.chmod(0o600)
    out, _ = run_counting(pki, srv.port, tmp_path, "--relay", f"mail.test:{srv.port}",
                          "--user", "alice", "--password-file", str(pw))
    line = syslog_sink.lines(1)[0][2]
    f = fields(line)
    assert f["outcome"] == "auth-failed" and f["reply"] == the_421(out["replies"][0])
    assert "not-the-password" not in line


@pytest.mark.parametrize("kind,data", [
    ("smuggling-refused", "Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\n.\r\n"),
    ("bdat-refused", None),
])
def test_refused_program_input_logs_its_kind_and_the_421(kind, data, pki, start_server,
                                                         syslog_sink, tmp_path, smtpshim):
    srv = start_server("starttls")
    script = MESSAGE[:4] + [data] if data else MESSAGE[:3] + ["BDAT 5 LAST\r\nhello"]
    out, _ = run_counting(pki, srv.port, tmp_path, script=script)
    f = fields(syslog_sink.lines(1)[0][2])
    assert f["outcome"] == kind
    assert f["reply"] == the_421(out["replies"][-1]) and f["reply"].startswith("421 4.5.0")
    assert f["messages"] == "0" and not srv.received()


def test_server_closing_with_a_reply_due_is_server_closed(pki, hostile, syslog_sink, tmp_path,
                                                          smtpshim):
    srv = hostile("drop-after-data")
    out, _ = run_counting(pki, srv.port, tmp_path, mode="tls")
    f = fields(syslog_sink.lines(1)[0][2])
    assert f["outcome"] == "server-closed"
    assert f["reply"] == the_421(out["replies"][-1])


def test_file_target_appends_one_private_line_per_session(pki, start_server, tmp_path,
                                                          syslog_sink, smtpshim):
    srv = start_server("starttls")
    log = tmp_path / "smtpshim.log"
    for _ in range(2):
        run_counting(pki, srv.port, tmp_path, "--log", str(log))
    text = log.read_text()
    assert len(text.splitlines()) == 2 and text.endswith("\n"), text
    assert all(" session prog=python3 " in l and "outcome=delivered" in l
               for l in text.splitlines())
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert syslog_sink.lines(0, wait=1) == []


def test_none_target_writes_nothing(pki, start_server, syslog_sink, tmp_path, smtpshim):
    srv = start_server("starttls")
    run_counting(pki, srv.port, tmp_path, "--log", "none")
    assert len(srv.received()) == 1
    assert syslog_sink.lines(0, wait=1) == []


def test_stderr_target_writes_to_the_programs_stderr(pki, start_server, syslog_sink, tmp_path,
                                                     smtpshim):
    # with a relay server too: the session's child writes to the stderr the
    # program handed over, not the detached server's
    srv = start_server("starttls")
    _, proc = run_counting(pki, srv.port, tmp_path, "--log", "stderr")
    assert re.search(r"^smtpshim\[\d+\]: session prog=python3 .*outcome=delivered$",
                     proc.stderr, re.M), proc.stderr
    assert syslog_sink.lines(0, wait=1) == []


def test_log_setting_is_checked_by_the_wrapper(smtpshim):
    proc = subprocess.run([str(SMTPSHIM), "--log", "relative.log", "--", "true"],
                          capture_output=True, text=True, env={**os.environ, "SMTPSHIM_CONFIG": ""})
    assert proc.returncode == 2
    assert "not syslog, stderr, none or an absolute path" in proc.stderr


def test_without_a_syslog_daemon_the_session_neither_fails_nor_waits(
        client, message, pki, start_server, smtpshim):
    assert not os.path.exists("/dev/log")
    srv = start_server("starttls")
    t0 = time.monotonic()
    run = run_client(client, message, shim=shim_args(pki, mode="starttls", port=srv.port))
    assert run.returncode == 0, run.describe()
    assert len(srv.received()) == 1 and time.monotonic() - t0 < 20
