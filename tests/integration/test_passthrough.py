"""Connections smtpshim must not catch reach their destination untouched, in
plaintext. A TLS server stands ready as the would-be upstream so that a wrong
interception shows up as a message there."""
from harness.checks import assert_delivered, assert_nothing_stored
from harness.clients import run_client, shim_args


def assert_not_intercepted(client, message, pki, start_server, *, host="mail.test", port=25,
                           server_host=None, allow_loopback=False):
    """client's message to host:port reaches the plain server there,
    untouched and in plaintext; the TLS upstream gets nothing."""
    where = {"host": server_host} if server_host else {}
    plain = start_server("plain-no-starttls", cert=None, port=port, **where)
    upstream = start_server("implicit")
    run = run_client(client, message, host=host, port=port,
                     shim=shim_args(pki, mode="tls", port=upstream.port,
                                    allow_loopback=allow_loopback))
    assert_delivered(plain, run, tls=False)
    assert_nothing_stored(upstream)


def test_port_not_intercepted_goes_straight_to_server(client, message, pki, start_server,
                                                      smtpshim):
    assert_not_intercepted(client, message, pki, start_server, port=2526, allow_loopback=True)


def test_loopback_not_intercepted_without_allow_loopback(client, message, pki, start_server,
                                                         smtpshim):
    assert_not_intercepted(client, message, pki, start_server, host="127.0.0.1")


def test_unspecified_address_is_this_host_and_not_intercepted(message, pki, start_server,
                                                              smtpshim):
    # Linux takes a connect() to 0.0.0.0 as one to 127.0.0.1: the local MTA
    assert_not_intercepted("smtplib", message, pki, start_server, host="0.0.0.0")


def test_unspecified_ipv6_address_is_this_host_and_not_intercepted(message, pki, start_server,
                                                                   smtpshim):
    assert_not_intercepted("smtplib", message, pki, start_server, host="::", server_host="::1")


def test_unspecified_address_is_intercepted_with_allow_loopback(message, pki, start_server,
                                                                trap25, smtpshim):
    upstream = start_server("implicit")
    run = run_client("smtplib", message, host="0.0.0.0",
                     shim=[*shim_args(pki, mode="tls"), "--relay", f"mail.test:{upstream.port}"])
    assert_delivered(upstream, run, tls=True)
    assert_nothing_stored(trap25)
