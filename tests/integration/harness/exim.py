"""exim4 (Debian's exim4-daemon-light) as the sending MTA of the tests.

An Exim is a configuration of our own in a directory of its own (spool,
logs, and whatever a test adds), listed in /etc/exim4/trusted_configs so
exim keeps root for it. exim works as Debian-exim, so the directory is
outside pytest's tmp (mode 700) and world-readable. A test that installs the
shim system-wide (harness/system_wide.py) does so first: /etc is then an
overlay of the test namespace, and the trust list is written there.

Facts about exim as a client are in /work/shared/PEERS.md: it connects with
sendto(MSG_FASTOPEN), empties its environment (keep_environment keeps
LD_PRELOAD) and re-executes its set-user-ID binary for delivery.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

EXIM = shutil.which("exim4")

# One smarthost for every domain: mail.test, plain SMTP on port 25 (the shim
# turns it into TLS); without TLS of exim's own, with TCP Fast Open.
SMARTHOST_ROUTER = """\
smarthost:
  driver = manualroute
  domains = *
  transport = remote_smtp
  route_list = * mail.test byname
  self = send
  no_more
"""

_CONF = """\
primary_hostname = client.test
keep_environment = LD_PRELOAD
spool_directory = {work}/spool
log_file_path = {work}/log/%slog
exim_user = Debian-exim
exim_group = Debian-exim
{main}
begin routers
{routers}
begin transports
remote_smtp:
  driver = smtp
  port = 25
  hosts_avoid_tls = *
  hosts_try_fastopen = *
{transport}
{transports}
begin retry
{retry}
"""


class Exim:
    """main: extra main-section settings; routers: the routers section;
    transport: extra options of the remote_smtp transport; transports:
    further transports; retry: the retry rules. dirs: extra directories
    of the work directory that exim (Debian-exim) must write; "{work}" in
    any of the parts stands for the work directory."""

    def __init__(self, *, main: str = "", routers: str = SMARTHOST_ROUTER,
                 transport: str = "", transports: str = "", retry: str = "* * F,1m,1m",
                 dirs: tuple = ()):
        self.work = Path(tempfile.mkdtemp(prefix="smtpshim-exim-"))
        self.work.chmod(0o755)
        for d in ("spool", "log", *dirs):
            (self.work / d).mkdir()
            shutil.chown(self.work / d, "Debian-exim", "Debian-exim")
        self.conf = self.work / "exim.conf"
        # "{work}" in any part names this directory
        parts = dict(main=main, routers=routers, transport=transport,
                     transports=transports, retry=retry)
        parts = {k: v.replace("{work}", str(self.work)) for k, v in parts.items()}
        self.conf.write_text(_CONF.format(work=self.work, **parts))
        self.mainlog_path = self.work / "log" / "mainlog"

    def trust(self):
        """Lets exim keep root with this -C configuration."""
        exim_dir = Path("/etc/exim4")
        exim_dir.mkdir(exist_ok=True)
        (exim_dir / "trusted_configs").write_text(f"{self.conf}\n")

    def run(self, *args, input: bytes = b"", env: dict | None = None,
            timeout: float = 60, prefix: tuple = (), **kw) -> subprocess.CompletedProcess:
        """exim4 -C <our config> ARGS (under `prefix`, such as strace);
        env: its whole environment (default: PATH only)."""
        self.trust()
        cmd = [*prefix, EXIM, "-C", str(self.conf), *map(str, args)]
        env = {"PATH": os.environ["PATH"]} if env is None else env
        return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                              env=env, **kw)

    def mainlog(self) -> str:
        return self.mainlog_path.read_text() if self.mainlog_path.exists() else "(no mainlog)"

    def ca_copy(self, pki) -> Path:
        """The test CA where Debian-exim (the delivering user) can read it."""
        ca = self.work / "ca.pem"
        shutil.copy(pki.ca_file, ca)
        ca.chmod(0o644)
        return ca

    def remove(self):
        shutil.rmtree(self.work, ignore_errors=True)


def shim_config(exim: Exim, pki, port: int, programs: str | None = None,
                extra: str = "") -> str:
    """/etc/smtpshim.conf for exim delivering to the test servers: implicit
    TLS to `port`, the test CA, loopback allowed; `extra` is appended (a
    [destination] section, say)."""
    text = f"ca-file {exim.ca_copy(pki)}\nallow-loopback yes\nmode tls\nport {port}\n"
    return text + (f"programs {programs}\n" if programs else "") + extra
