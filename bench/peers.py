"""The servers the bench talks to: the TLS sink (bench/sink.c) and stunnel
in client mode in front of it.  Both listen on 127.0.0.1 only; the bench
runs inside tests/netns-run, so nothing leaves the namespace."""
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT = 10  # seconds for a server to come up


def _readline(proc, timeout):
    """One line of proc's stdout, or an error after `timeout` seconds."""
    if not select.select([proc.stdout], [], [], timeout)[0]:
        raise RuntimeError(f"{proc.args[0]} printed nothing in {timeout} s")
    return proc.stdout.readline()


def _wait_listening(port, proc):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {START_TIMEOUT} s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Implicit TLS on .tls_port, STARTTLS (or plain) on .starttls_port."""

    def __init__(self, binary: Path, cert: Path, key: Path):
        self.proc = subprocess.Popen([str(binary), str(cert), str(key)],
                                     stdout=subprocess.PIPE, text=True)
        words = _readline(self.proc, START_TIMEOUT).split()
        if len(words) != 3 or words[0] != "ports":
            raise RuntimeError(f"sink said {words!r}")
        self.tls_port, self.starttls_port = int(words[1]), int(words[2])

    def cpu_seconds(self) -> float:
        """User + system CPU the sink has used so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in ticks (USER_HZ)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# stunnel as a client-side TLS wrapper, verifying like the shim does: the
# test CA only, host name mail.test, SNI.  TCP_NODELAY on both sides (it
# does not set it by itself).  Log level 4 (warnings): per-connection
# notices would cost it time the others do not spend.
_STUNNEL_SERVICE = """\
[{name}]
client = yes
accept = 127.0.0.1:{accept}
connect = 127.0.0.1:{connect}
{protocol}verifyChain = yes
CAfile = {ca}
checkHost = mail.test
sni = mail.test
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
"""


class Stunnel:
    """stunnel4 with .tls_port (to the sink's implicit TLS port) and
    .starttls_port (protocol = smtp, to the sink's STARTTLS port)."""

    @staticmethod
    def available():
        return shutil.which("stunnel4") or shutil.which("stunnel")

    def __init__(self, workdir: Path, ca: Path, sink: Sink):
        self.tls_port, self.starttls_port = free_port(), free_port()
        conf = workdir / "stunnel.conf"
        conf.write_text("foreground = yes\npid =\ndebug = 4\n" + _STUNNEL_SERVICE.format(
            name="smtps", accept=self.tls_port, connect=sink.tls_port, protocol="", ca=ca)
            + _STUNNEL_SERVICE.format(
            name="submission", accept=self.starttls_port, connect=sink.starttls_port,
            protocol="protocol = smtp\n", ca=ca))
        self.proc = subprocess.Popen([self.available(), str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_listening(self.tls_port, self.proc)
        _wait_listening(self.starttls_port, self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
