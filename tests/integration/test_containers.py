"""The recipes of docs/containers.md, in a container the test makes
(harness/container.py): nothing in the image is changed but the files
added to it, smtpshim's installed files (`make install`) are mounted in
read-only, and the settings come from SMTPSHIM_* variables (or, for
root, the three ways of its section 3). The container reaches the
outside only through a veth to the test's namespace, where the only mail
server listens; its mail must arrive there byte for byte over verified
TLS, and nothing may reach that server's port 25."""
import os
import subprocess
import time

import pytest

from harness.checks import assert_delivered, assert_refused
from harness.clients import Run, run_client
from harness.container import NOBODY, PREFIX, Veth, image
from harness.programs import MAIL_FROM, RCPTS
# fixtures: containers, installed, message_file, programs
from harness.container import containers, installed  # noqa: F401
from harness.programs import message_file, programs  # noqa: F401

# TEST-NET-1 (RFC 5737): these exist only on the veth between the two
# namespaces.
OUTSIDE, INSIDE = "192.0.2.1", "192.0.2.2"
HOSTS = {"mail.test": OUTSIDE}
PRELOAD = f"{PREFIX}/$LIB/libsmtpshim.so"
CA = "/etc/smtpshim/ca.pem"
PATH = f"{PREFIX}/bin:/usr/bin:/bin"
# shim mode -> the server the container must reach, on its port
UPSTREAM = {"tls": ("implicit", 465), "starttls": ("starttls", 587)}


def environment(**settings) -> dict:
    """The container's whole environment: PATH, HOME and `settings`. The
    run without relay servers (`make integration`) reaches in here too."""
    env = {"PATH": PATH, "HOME": "/tmp", **settings}
    if os.environ.get("SMTPSHIM_RELAY_SERVER"):
        env["SMTPSHIM_RELAY_SERVER"] = os.environ["SMTPSHIM_RELAY_SERVER"]
    return env


@pytest.fixture
def veth():
    """The container's wire to the outside: the test's namespace, where
    the servers listen on OUTSIDE."""
    v = Veth(OUTSIDE)
    yield v
    v.remove()


@pytest.fixture
def outside(veth, start_server):
    """start(mode, port) -> a server on the test's end of the veth; the
    plain listener on its port 25 is checked to have had no connection."""
    trap = start_server("plain-no-starttls", cert=None, port=25, host=OUTSIDE)

    def start(mode, port):
        return start_server(mode, port=port, host=OUTSIDE)

    yield start
    assert trap.sessions() == 0, f"{trap.sessions()} connection(s) reached port 25 outside"


@pytest.fixture
def app(tmp_path, pki, installed, containers, veth):
    """app(files={}, mounts={}) -> (container, exchange): a container whose
    image holds `files` and the test CA at /etc/smtpshim/ca.pem, with
    smtpshim's files mounted at PREFIX, a veth to the outside, and an
    exchange directory (the client's files) at the same path inside."""

    def start(files=None, mounts=None):
        exchange = tmp_path / "exchange"
        exchange.mkdir(mode=0o755)
        img = image(tmp_path / "app-image", HOSTS,
                    {CA: pki.ca_file, **(files or {})})
        c = containers(img, {PREFIX: installed, str(exchange): exchange,
                             **(mounts or {})})
        c.plug(veth, INSIDE)
        return c, exchange

    return start


@pytest.mark.parametrize("mode", sorted(UPSTREAM))
@pytest.mark.parametrize("client", ["swaks", "curl"])
def test_unprivileged_client_delivers_with_settings_only_from_the_environment(
        client, mode, message, app, outside):
    srv = outside(*UPSTREAM[mode])
    box, exchange = app()
    env = environment(LD_PRELOAD=PRELOAD, SMTPSHIM_CA_FILE=CA, SMTPSHIM_MODE=mode)
    run = run_client(client, message, prefix=box.command(env, user=NOBODY), workdir=exchange)
    assert_delivered(srv, run, tls=True)
    assert srv.received()[0].sni == "mail.test"


def test_root_client_delivers_through_the_wrapper_as_entrypoint(message, app, outside):
    # root believes SMTPSHIM_* variables only from its own wrapper, which
    # writes them to /run/smtpshim (the container's own /run)
    srv = outside("implicit", 465)
    box, exchange = app()
    entrypoint = [*box.command(environment(SMTPSHIM_CA_FILE=CA)), "smtpshim", "--"]
    run = run_client("swaks", message, prefix=entrypoint, workdir=exchange)
    assert_delivered(srv, run, tls=True)
    assert list(box.path("/run/smtpshim").iterdir()), "the wrapper wrote no settings file"


def test_root_client_preloaded_without_the_wrapper_ignores_the_environment(message, app,
                                                                          outside):
    # what docs/containers.md warns of: the CA named in the environment is
    # not believed, so the certificate cannot be verified, and nothing goes
    srv = outside("implicit", 465)
    box, exchange = app()
    env = environment(LD_PRELOAD=PRELOAD, SMTPSHIM_CA_FILE=CA)
    run = run_client("swaks", message, prefix=box.command(env), workdir=exchange)
    assert_refused(run, "certificate verify failed")
    assert not srv.received()


def test_root_client_takes_its_settings_from_a_config_file_mounted_in(message, app, outside,
                                                                     tmp_path):
    srv = outside("starttls", 587)
    conf = tmp_path / "smtpshim.conf"
    conf.write_text(f"ca-file {CA}\nmode starttls\n")
    conf.chmod(0o644)
    box, exchange = app(mounts={"/etc/smtpshim.conf": conf})
    run = run_client("swaks", message, prefix=box.command(environment(LD_PRELOAD=PRELOAD)),
                     workdir=exchange)
    assert_delivered(srv, run, tls=True)


def wait_listening(box, port: int):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if subprocess.run(["nsenter", "-t", str(box.pid), "-n", "--", "ss", "-Hltn",
                           f"sport = :{port}"], capture_output=True, text=True).stdout.strip():
            return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on port {port} in the container")


def test_static_program_delivers_through_a_listen_sidecar(message, message_file, tmp_path, pki,
                                                          installed, containers, programs,
                                                          veth, outside):
    # The program's image has no smtpshim at all: a static program, which
    # no preload reaches, pointed at port 2525 of its own loopback.  The
    # sidecar shares its network (as in a pod) and runs smtpshim listen.
    srv = outside("implicit", 465)
    static = programs.build("client_delivers", link=("-static",), tag="static")
    prog = containers(image(tmp_path / "prog-image", {}, {
        "/app/client": static, "/app/message.eml": message_file}))
    prog.plug(veth, INSIDE)
    sidecar = containers(image(tmp_path / "sidecar-image", HOSTS, {CA: pki.ca_file}),
                         {PREFIX: installed}, network=prog)
    env = environment(SMTPSHIM_RELAY="mail.test", SMTPSHIM_CA_FILE=CA)
    subprocess.Popen([*sidecar.command(env, user=NOBODY), "smtpshim", "listen", "127.0.0.1:2525"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(prog, 2525)
    proc = subprocess.run([*prog.command(environment(), user=NOBODY), "/app/client", "127.0.0.1",
                           "2525", "/app/message.eml"], capture_output=True, text=True,
                          timeout=60)
    run = Run(proc, message.data, MAIL_FROM, RCPTS)
    assert "FAIL:" not in run.output, run.describe()
    assert_delivered(srv, run, tls=True)
