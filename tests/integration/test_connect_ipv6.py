"""IPv6: an AF_INET6 socket dialling [::1]:25 by name and by literal,
v4-mapped destinations (what getaddrinfo(AF_INET6, AI_V4MAPPED) gives for an
IPv4-only host), and IPV6_V6ONLY sockets.

The relay connects to the address the program dialled, so a program
dialling [::1]:25 needs its server on [::1]. The session PKI's certificate
names mail.test, other.test and 127.0.0.1 only; the IPv6 server here gets a
certificate of the same test CA for ip6-localhost (a name tests/netns-run's
/etc/hosts gives ::1) and IP ::1."""
import pytest

from harness.checks import assert_nothing_stored
from harness.pki import _CONFIG, CertKey, _issue
from harness.programs import assert_program_delivered
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401
from harness.server import MailServer


@pytest.fixture(scope="module")
def v6_cert(pki, tmp_path_factory):
    d = tmp_path_factory.mktemp("pki-v6")
    (d / "openssl.cnf").write_text(_CONFIG)
    ca = CertKey(pki.ca_file, pki.ca_file.with_suffix(".key"))
    return _issue(d, "ip6-localhost", "/CN=ip6-localhost", "leaf_ext", issuer=ca,
                  san="DNS:ip6-localhost,IP:::1")


@pytest.fixture
def v6_server(v6_cert):
    srv = MailServer("implicit", v6_cert, host="::1").start()
    yield srv
    srv.stop()


@pytest.fixture
def trap25_v6():
    """Plaintext server on [::1]:25: whatever reaches it went around the shim."""
    srv = MailServer("plain-no-starttls", None, port=25, host="::1").start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("host", ["ip6-localhost", "::1"], ids=["name", "literal"])
def test_ipv6_destination_delivers(host, run_program, v6_server, trap25_v6):
    # by name: the certificate is checked for ip6-localhost; by literal: for IP ::1
    run = run_program("ipv6_destination_delivers", v6_server, host=host)
    assert_program_delivered(v6_server, run, "getpeername: [::1]:25")
    assert_nothing_stored(trap25_v6)


@pytest.mark.parametrize("host", ["mail.test", "::ffff:127.0.0.1"], ids=["name", "literal"])
def test_v4_mapped_destination_delivers(host, run_program, start_server, trap25):
    # by name: getaddrinfo(AF_INET6, AI_V4MAPPED) turns mail.test's 127.0.0.1
    # into ::ffff:127.0.0.1 and the certificate is checked for mail.test;
    # by literal: for IP 127.0.0.1, the address the mapped one stands for
    srv = start_server("implicit")
    run = run_program("v4_mapped_destination_delivers", srv, host=host)
    assert_program_delivered(srv, run, "getpeername: [::ffff:127.0.0.1]:25")
    assert_nothing_stored(trap25)


def test_ipv6_v6only_socket_delivers(run_program, v6_server, trap25_v6):
    run = run_program("ipv6_v6only_socket_delivers", v6_server, host="ip6-localhost")
    assert_program_delivered(v6_server, run, "IPV6_V6ONLY 1", "getpeername: [::1]:25")
    assert_nothing_stored(trap25_v6)


def test_getsockname_is_sensible_on_ipv6(run_program, v6_server, trap25_v6):
    run = run_program("getsockname_is_sensible", v6_server, "inet6", host="ip6-localhost")
    assert_program_delivered(v6_server, run, "getsockname: loopback IPv6, non-zero port")
    assert_nothing_stored(trap25_v6)
