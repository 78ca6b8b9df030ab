"""`smtpshim probe HOST` reports, for 25, 465, 587 and 2525, what a sender
would meet there, and ends with the config line to use; `smtpshim check`
shows the settings a destination gets, the password masked."""
import os
import subprocess

import pytest

from harness.clients import SMTPSHIM


def smtpshim_cmd(*args, env=None):
    proc = subprocess.run([str(SMTPSHIM), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SMTPSHIM_CONFIG": "", **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


def section(out, port):
    """The lines of the report about one port."""
    lines, inside = [], False
    for line in out.splitlines():
        if line.startswith("port "):
            inside = line.split()[1] == str(port)
        elif not line.startswith(" "):
            inside = False
        if inside:
            lines.append(line)
    return "\n".join(lines)


def test_probe_reports_starttls_implicit_closed_and_plain_ports(pki, start_server, smtpshim):
    start_server("implicit", port=465, users={"alice": "x"})
    start_server("starttls", port=587, users={"alice": "x"})
    start_server("plain-no-starttls", cert=None, port=25)
    rc, out = smtpshim_cmd("probe", "--ca-file", str(pki.ca_file), "mail.test")
    assert rc == 0, out

    p465 = section(out, 465)
    assert "reachable" in p465 and "implicit TLS" in p465, out
    assert "TLS: TLSv1.3" in p465 or "TLS: TLSv1.2" in p465, out
    assert "chain trusted; name matches mail.test" in p465, out
    assert "AUTH LOGIN PLAIN" in p465, out

    p587 = section(out, 587)
    assert "EHLO (plain): STARTTLS" in p587, out
    assert "chain trusted; name matches mail.test" in p587, out
    assert "EHLO (in TLS): no STARTTLS, AUTH LOGIN PLAIN, SIZE" in p587, out

    assert "refused" in section(out, 2525), out
    assert "no STARTTLS: plaintext only" in section(out, 25), out
    assert out.rstrip().splitlines()[-1] == "recommended: relay mail.test:465", out


def test_probe_names_bad_certificates_and_recommends_the_good_port(pki, start_server, smtpshim):
    start_server("implicit", cert="untrusted", port=465)
    start_server("starttls", cert="wrong", port=587)
    start_server("starttls", port=2525)
    rc, out = smtpshim_cmd("probe", "--ca-file", str(pki.ca_file), "mail.test")
    assert rc == 0, out
    assert "unable to get local issuer certificate" in section(out, 465), out
    assert "not usable" in section(out, 465), out
    assert "name does NOT match mail.test" in section(out, 587), out
    assert "not usable" in section(out, 587), out
    assert "chain trusted; name matches mail.test" in section(out, 2525), out
    assert "refused" in section(out, 25), out
    assert out.rstrip().splitlines()[-1] == "recommended: relay mail.test:2525", out


def test_probe_without_the_test_ca_trusts_nothing_here(pki, start_server, smtpshim):
    start_server("implicit", port=465)
    rc, out = smtpshim_cmd("probe", "mail.test")
    assert rc == 1, out
    assert "unable to get local issuer certificate" in section(out, 465), out
    assert "give it with --ca-file" in out
    assert out.rstrip().splitlines()[-1].startswith("recommended: none"), out


def test_check_shows_the_section_and_masks_the_password(pki, tmp_path, smtpshim):
    pw = tmp_path / "pw"
    pw.write_text("hunter2-secret\n")
    pw.chmod(0o600)
    conf = tmp_path / "smtpshim.conf"
    conf.write_text(f"mode starttls\n\n[destination .example.com]\nrelay smtp.relay.test:587\n"
                    f"user apikey\npassword-file {pw}\n")
    rc, out = smtpshim_cmd("check", "--config", str(conf), "mx.example.com")
    assert rc == 0, out
    assert "[destination .example.com] (line 3)" in out
    assert "smtp.relay.test (relay), trying 587 (STARTTLS)" in out
    assert f"password         * (from password-file {pw})" in out
    assert "hunter2" not in out
    rc, out = smtpshim_cmd("check", "--config", str(conf), "mail.test:25")
    assert "none matches" in out and "user             (none" in out, out
