"""Baseline: each real client, run directly (no smtpshim), delivers the test
message byte-identical and reports a 421 greeting. This proves the harness
(servers, certificates, client invocations, expectations) so that a failure
in the shim tests points at the shim."""
import pytest

from harness.checks import assert_delivered, assert_refused
from harness.clients import run_client
from harness.refuser import Refuser

SERVER_MODE = {None: "plain-no-starttls", "starttls": "starttls", "implicit": "implicit"}


@pytest.mark.parametrize("tls", [None, "starttls", "implicit"], ids=["plain", "starttls", "implicit"])
def test_client_delivers_intact_without_shim(client, tls, message, pki, start_server):
    srv = start_server(SERVER_MODE[tls], cert="mail" if tls else None)
    run = run_client(client, message, port=srv.port, tls=tls, ca_file=pki.ca_file)
    assert_delivered(srv, run, tls=tls is not None)


def test_client_reports_421_greeting(client, message):
    reply = b"421 4.7.0 smtpshim: certificate verify failed: unable to get local issuer certificate\r\n"
    with Refuser(reply) as refuser:
        run = run_client(client, message, port=refuser.port)
    assert refuser.connections == 1
    assert_refused(run, "certificate verify failed", "unable to get local issuer certificate")
