"""Fixtures for the smtpshim integration tests.

Run inside tests/netns-run (private network namespace, test host names in
/etc/hosts), e.g.:  tests/netns-run /usr/bin/python3 -m pytest -q tests/integration
"""
import os
import signal
import socket

import pytest

from harness import compat, provenance
from harness.clients import CLIENTS, SMTPSHIM
from harness.message import standard_message
from harness.programs import relays
from harness.pki import make_pki
from harness.server import MailServer


def pytest_sessionstart(session):
    # Outside the namespace, servers would collide with the host's ports and
    # the shim would meet the real network.
    try:
        inside = socket.gethostbyname("wrong.test") == "127.0.0.1"
    except OSError:
        inside = False
    if not inside:
        pytest.exit("run the integration tests under tests/netns-run", returncode=2)
    provenance.start()


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after every other test of the session")


def pytest_collection_modifyitems(items):
    # test_install_list.py judges what all the others used
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def message():
    return standard_message()


@pytest.fixture(params=sorted(CLIENTS))
def client(request):
    """Name of each real SMTP client in turn."""
    return request.param


@pytest.fixture(scope="session")
def smtpshim():
    if not os.access(SMTPSHIM, os.X_OK):
        pytest.fail(f"{SMTPSHIM} is not built")
    return SMTPSHIM


@pytest.fixture
def start_server(pki):
    """start_server(mode, cert="mail"|"wrong"|"untrusted"|None, port=0, **options)
    -> MailServer, stopped at the end of the test."""
    started = []

    def start(mode, cert="mail", port=0, **options):
        srv = MailServer(mode, getattr(pki, cert) if cert else None, port=port, **options)
        started.append(srv.start())
        return srv

    yield start
    for srv in reversed(started):
        srv.stop()


@pytest.fixture
def trap25(start_server):
    """Plain server on the port the clients dial: whatever reaches it went
    around the shim in plaintext."""
    return start_server("plain-no-starttls", cert=None, port=25)


@pytest.fixture
def free_port():
    """A port nothing listens on (the namespace has no other users)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# docs/compatibility.md comes from what this session ran (harness/compat.py).
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.skipped):
        compat.record(item, report)


def pytest_sessionfinish(session):
    compat.write()
    # The relay servers the tests started would idle on for a minute after
    # them: the tests leave nothing running.
    for pid in relays("smtpshim-server"):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
