"""Per-destination sections of the config file: one program, several
destinations, each sent where its section says -- matched by the name the
program resolved, the address it dialled (CIDR) and the port."""
import os
import subprocess

from harness.checks import assert_delivered, assert_nothing_stored, assert_refused
from harness.clients import PYTHON, SMTPSHIM, run_client, shim_args

SEND_MANY = r'''
import smtplib, sys
data = sys.stdin.buffer.read()
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), local_hostname="client.test", timeout=30) as s:
        s.sendmail("alice@client.test", [f"bob@{host}"], data)
    print("sent to", target, flush=True)
'''


def write_config(path, text):
    path.write_text(text)
    return path


def send_many(conf, message, tmp_path, *targets):
    """One program under smtpshim --config conf sends the message to each
    HOST:PORT in turn; returns what it printed (it must succeed)."""
    proc = subprocess.run(
        [str(SMTPSHIM), "--config", str(conf), "--", PYTHON, "-c", SEND_MANY, *targets],
        input=message.data, capture_output=True, timeout=60,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0, out
    return out


def test_two_destinations_in_one_run_go_to_the_upstreams_their_sections_name(
        message, pki, start_server, trap25, tmp_path, smtpshim):
    relay = start_server("starttls", users={"alice": "pw"}, auth_required=True)
    own465 = start_server("implicit")
    by_port = start_server("starttls")
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    pw.chmod(0o600)
    conf = write_config(tmp_path / "smtpshim.conf", f"""\
# global: trust the test CA, catch loopback (the test servers live there)
ca-file {pki.ca_file}
allow-loopback
intercept 25,2526
mode starttls

# other.test goes through an authenticating relay
[destination other.test]
relay mail.test:{relay.port}
user alice
password-file {pw}

# anything on port 2526 in 127/8, by address and port
[destination 127.0.0.0/8:2526]
port {by_port.port}

# mail.test and everything under .test: its own host, implicit TLS
[destination .test]
mode tls
port {own465.port}
""")
    out = send_many(conf, message, tmp_path, "other.test:25", "mail.test:25", "mail.test:2526")
    for srv, rcpt in ((relay, "bob@other.test"), (own465, "bob@mail.test"),
                      (by_port, "bob@mail.test")):
        got = srv.received()
        assert len(got) == 1, f"{srv.mode}:{srv.port} got {len(got)}\n{out}"
        assert got[0].rcpt_tos == (rcpt,) and got[0].tls and got[0].content == message.data
    assert relay.received()[0].auth_user == "alice"
    assert own465.received()[0].auth_user is None  # credentials stay in their section
    assert_nothing_stored(trap25)


def test_config_in_the_xdg_directory_is_read_without_naming_it(
        message, pki, start_server, trap25, tmp_path, smtpshim):
    srv = start_server("implicit")
    conf_dir = tmp_path / "config" / "smtpshim"
    conf_dir.mkdir(parents=True)
    write_config(conf_dir / "smtpshim.conf",
                 f"ca-file {pki.ca_file}\nallow-loopback\n[destination mail.test]\n"
                 f"mode tls\nport {srv.port}\n")
    run = run_client("swaks", message, shim=[],
                     env={"SMTPSHIM_CONFIG": None, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert_delivered(srv, run, tls=True)


def test_broken_default_config_warns_and_intercepted_connections_get_a_421(
        message, pki, start_server, trap25, tmp_path, smtpshim):
    conf_dir = tmp_path / "config" / "smtpshim"
    conf_dir.mkdir(parents=True)
    conf = write_config(conf_dir / "smtpshim.conf",
                        "allow-loopback\n\n[destination mail.test 300.1.2.3/8]\nmode tls\n")
    problem = f"{conf} line 3: '300.1.2.3/8' is not a destination pattern"
    run = run_client("smtplib", message, shim=[],
                     env={"SMTPSHIM_CONFIG": None, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert f"smtpshim: warning: {problem}" in run.output, run.describe()
    # the program ran, and its connection got the same words as a 421
    assert_refused(run, problem)
    assert_nothing_stored(trap25)


def test_explicit_config_with_a_mistake_is_refused_before_the_program_runs(
        message, tmp_path, trap25, smtpshim):
    conf = write_config(tmp_path / "bad.conf", "[destination mail.test]\nprograms exim4\n")
    run = run_client("smtplib", message, shim=["--config", str(conf)])
    assert run.returncode == 2
    assert f"{conf} line 2: 'programs' applies to all connections" in run.output


def test_credentials_do_not_follow_a_section_to_another_relay(
        message, pki, start_server, trap25, tmp_path, smtpshim):
    # The global credentials are for the global relay; a section that sends
    # other.test elsewhere must not hand them to that other server.
    sendgrid = start_server("starttls", users={"alice": "pw"}, auth_required=True)
    corp = start_server("starttls", users={"alice": "pw"})   # offers AUTH, does not need it
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    pw.chmod(0o600)
    conf = write_config(tmp_path / "smtpshim.conf", f"""\
ca-file {pki.ca_file}
allow-loopback
mode starttls
relay mail.test:{sendgrid.port}
user alice
password-file {pw}

[destination other.test]
relay mail.test:{corp.port}
""")
    out = send_many(conf, message, tmp_path, "other.test:25", "mail.test:25")
    assert [m.auth_user for m in corp.received()] == [None], out
    assert [m.auth_user for m in sendgrid.received()] == ["alice"], out
    assert_nothing_stored(trap25)


def test_credentials_without_a_relay_are_refused(message, pki, start_server, trap25,
                                                 tmp_path, smtpshim):
    # without a relay they would go to whatever MX the program mails
    srv = start_server("starttls", users={"alice": "pw"})
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    pw.chmod(0o600)
    run = run_client("smtplib", message,
                     shim=[*shim_args(pki, mode="starttls", port=srv.port), "--user", "alice",
                           "--password-file", str(pw)])
    assert_refused(run, "credentials are set but no relay")
    assert not srv.received()
    assert_nothing_stored(trap25)


def test_section_that_says_intercept_no_leaves_its_destination_alone(
        message, pki, start_server, trap25, tmp_path, smtpshim):
    # other.test is an internal smarthost on 25 that is reachable: native,
    # plaintext, to the server on port 25; mail.test is still caught.
    upstream = start_server("implicit")
    conf = write_config(tmp_path / "smtpshim.conf", f"""\
ca-file {pki.ca_file}
allow-loopback
mode tls
port {upstream.port}

[destination other.test]
intercept no
""")
    out = send_many(conf, message, tmp_path, "other.test:25", "mail.test:25")
    native = trap25.received()
    assert [m.rcpt_tos for m in native] == [("bob@other.test",)], out
    assert not native[0].tls and native[0].content == message.data
    caught = upstream.received()
    assert [m.rcpt_tos for m in caught] == [("bob@mail.test",)] and caught[0].tls, out
    check = subprocess.run([str(SMTPSHIM), "check", "--config", str(conf), "other.test"],
                           capture_output=True, text=True, timeout=30)
    assert "intercepted      no (its section says intercept no" in check.stdout, check.stdout
