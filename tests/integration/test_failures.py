"""When the upstream cannot be reached safely, smtpshim answers the client with
a 421 naming the cause, and no message goes anywhere -- in particular not in
plaintext to the original destination (trap25)."""
import pytest

from harness.checks import assert_nothing_stored, assert_refused
from harness.clients import run_client, shim_args

UPSTREAM = {"tls": "implicit", "starttls": "starttls"}


@pytest.mark.parametrize("mode", sorted(UPSTREAM))
def test_unknown_ca_is_refused(client, mode, message, pki, start_server, trap25, smtpshim):
    srv = start_server(UPSTREAM[mode], cert="untrusted")
    run = run_client(client, message, shim=shim_args(pki, mode=mode, port=srv.port))
    assert_refused(run, "certificate verify failed", "unable to get local issuer certificate")
    assert_nothing_stored(srv, trap25)


@pytest.mark.parametrize("mode", sorted(UPSTREAM))
def test_wrong_host_name_is_refused(client, mode, message, pki, start_server, trap25,
                                    smtpshim):
    # the certificate is valid for wrong.test only; the client dials mail.test
    srv = start_server(UPSTREAM[mode], cert="wrong")
    run = run_client(client, message, shim=shim_args(pki, mode=mode, port=srv.port))
    assert_refused(run, "certificate verify failed", "hostname mismatch")
    assert_nothing_stored(srv, trap25)


def test_server_without_starttls_is_refused(client, message, pki, start_server, trap25,
                                            smtpshim):
    srv = start_server("plain-no-starttls", cert=None)
    run = run_client(client, message, shim=shim_args(pki, mode="starttls", port=srv.port))
    assert_refused(run, "does not offer STARTTLS")
    assert_nothing_stored(srv, trap25)


@pytest.mark.parametrize("mode", sorted(UPSTREAM))
def test_nothing_listening_is_refused(client, mode, message, pki, free_port, trap25,
                                      smtpshim):
    run = run_client(client, message, shim=shim_args(pki, mode=mode, port=free_port))
    assert_refused(run, "Connection refused")
    assert_nothing_stored(trap25)
