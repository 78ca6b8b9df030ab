"""Run real SMTP clients as subprocesses, optionally under tools/smtpshim.

Every runner takes the same arguments and returns a Run: the finished process
plus the exact bytes (and envelope) the server must store if the client's
message arrives intact. Clients talk plain SMTP unless `tls` is given; `tls`
exists only for the direct baseline runs (no shim) that prove the harness
itself works.
"""
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .message import Message

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
# SMTPSHIM in the environment overrides, e.g. to test an installed build.
SMTPSHIM = Path(os.environ.get("SMTPSHIM", REPO / "tools" / "smtpshim"))
# The pyenv python3 on PATH does not see the Debian packages.
PYTHON = "/usr/bin/python3"
CLIENT_TIMEOUT = 60


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    expected: bytes     # message content the server must store
    mail_from: str      # envelope the server must see
    rcpts: tuple

    @property
    def returncode(self) -> int:
        return self.proc.returncode

    @property
    def output(self) -> str:
        """Everything the client printed, stdout then stderr."""
        return self.proc.stdout + self.proc.stderr

    def describe(self) -> str:
        # Bounded, for assertion messages.
        return (f"exit {self.returncode}: {' '.join(self.proc.args)}\n"
                f"--- output (last 3000 chars) ---\n{self.output[-3000:]}")


@dataclass
class _Invocation:
    cmd: list
    stdin: bytes = b""
    env: dict | None = None
    rcpts: tuple | None = None    # if the client cannot send to all of msg.rcpts


def _swaks(msg, host, port, tls, ca_file, work):
    # swaks terminates DATA with its own CRLF, so hand it the message without
    # the final one; "@file" makes it read the file verbatim.
    (work / "data").write_bytes(msg.data.removesuffix(b"\r\n"))
    cmd = ["swaks", "--server", f"{host}:{port}", "--helo", "client.test",
           "--from", msg.mail_from, "--to", ",".join(msg.rcpts),
           "--data", f"@{work / 'data'}", "--timeout", "30"]
    if tls:
        # (swaks 20201014 verifies the chain but not the host name)
        cmd += ["-tls" if tls == "starttls" else "-tlsc",
                "--tls-verify", "--tls-ca-path", str(ca_file)]
    return _Invocation(cmd)


def _smtplib(msg, host, port, tls, ca_file, work):
    cmd = [PYTHON, str(HERE / "smtplib_client.py"), host, str(port),
           tls or "none", str(ca_file or "-"), msg.mail_from, *msg.rcpts]
    return _Invocation(cmd, stdin=msg.data)


def _netsmtp(msg, host, port, tls, ca_file, work):
    cmd = ["perl", str(HERE / "netsmtp_client.pl"), host, str(port),
           tls or "none", str(ca_file or "-"), msg.mail_from, *msg.rcpts]
    return _Invocation(cmd, stdin=msg.data)


def _curl(msg, host, port, tls, ca_file, work):
    # The message file already has CRLF line endings and curl uploads it
    # as-is (doing the dot-stuffing itself); --crlf would turn CRLF into
    # CR CR LF. The URL path is curl's EHLO name.
    (work / "message").write_bytes(msg.data)
    scheme = "smtps" if tls == "implicit" else "smtp"
    cmd = ["curl", "-sS", "-v", "--max-time", "30",
           f"{scheme}://{host}:{port}/client.test",
           "--mail-from", msg.mail_from, "--upload-file", str(work / "message")]
    for rcpt in msg.rcpts:
        cmd += ["--mail-rcpt", rcpt]
    if tls:
        cmd += ["--ssl-reqd", "--cacert", str(ca_file)]
    return _Invocation(cmd)


def _snail(msg, host, port, tls, ca_file, work):
    # s-nail composes new mail with its own headers, but its "Resend" command
    # sends an existing message unchanged; so the message goes into an mbox
    # that s-nail opens read-only (-R) and resends. Resend takes exactly one
    # addressee. Not batch mode (-#): that forces noerrexit, and then s-nail
    # exits 0 even when sending failed.
    mbox = work / "mbox"
    mbox.write_bytes(b"From alice@client.test Thu Jan  1 00:00:00 2026\n"
                     + msg.data.replace(b"\r\n", b"\n") + b"\n")
    scheme = "smtps" if tls == "implicit" else "smtp"
    cmd = ["s-nail", "-:/", "-Sv15-compat", "-Squiet", "-Snoheader", "-Sverbose",
           f"-Smta={scheme}://{host}:{port}", "-Ssmtp-auth=none",
           "-Ssendwait", "-Snosave", "-Serrexit",
           "-Shostname=client.test", f"-Sfrom={msg.mail_from}"]
    if tls:
        cmd += ["-Stls-verify=strict", f"-Stls-ca-file={ca_file}", "-Stls-ca-no-defaults"]
        if tls == "starttls":
            cmd += ["-Ssmtp-use-starttls"]
    cmd += ["-R", "-f", str(mbox)]
    script = f"Resend 1 {msg.rcpts[0]}\nxit\n".encode()
    # HOME keeps s-nail away from the invoking user's files.
    return _Invocation(cmd, stdin=script, env={"HOME": str(work)}, rcpts=msg.rcpts[:1])


def _execute(cmd, stdin, env) -> subprocess.CompletedProcess:
    # Own session, so a hung client can be killed together with everything it
    # started (the shim's relay); the output so far is kept for the report.
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env,
                          start_new_session=True) as p:
        try:
            out, err = p.communicate(stdin, timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            try:
                out, err = p.communicate(timeout=5)
            except subprocess.TimeoutExpired as e:
                # something outside the session still holds the pipes
                out, err = e.stdout or b"", e.stderr or b""
            err += f"\n[harness: killed after {CLIENT_TIMEOUT}s]\n".encode()
    # Decode leniently: the tests search the output for reply text.
    return subprocess.CompletedProcess(cmd, p.returncode,
                                       out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))


CLIENTS = {
    "swaks": _swaks,
    "smtplib": _smtplib,
    "netsmtp": _netsmtp,
    "curl": _curl,
    "s-nail": _snail,
}


def run_client(name: str, msg: Message, *, host: str = "mail.test", port: int = 25,
               shim: list | None = None, tls: str | None = None,
               ca_file: Path | None = None, env: dict | None = None,
               client_args: list | None = None, prefix: list | None = None,
               workdir: Path | None = None) -> Run:
    """Run client `name` sending `msg` to host:port.

    shim: None to run the client directly, else the smtpshim options to wrap
    it with (`smtpshim *shim -- client...`).
    tls: None (plain SMTP), "starttls" or "implicit" -- direct runs only.
    env: extra environment (a value of None removes the variable). By
    default no config file is read (SMTPSHIM_CONFIG="") and auto mode's port
    memory is private to the run (XDG_CACHE_HOME in its temporary directory),
    so no test depends on /etc/smtpshim.conf or on an earlier test.
    client_args: extra arguments for the client (swaks only).
    prefix: words before the whole command, e.g. what runs it in a
    container (harness/container.py), which decides its environment then;
    workdir: where the client's files go, a directory the command sees at
    the same path (the client may run as another user there).
    """
    if tls not in (None, "starttls", "implicit"):
        raise ValueError(f"bad tls {tls!r}")
    with tempfile.TemporaryDirectory(prefix=f"smtpshim-{name}-", dir=workdir) as tmp:
        if workdir:
            os.chmod(tmp, 0o755)
        inv = CLIENTS[name](msg, host, port, tls, ca_file, Path(tmp))
        if client_args:
            inv.cmd += client_args
        cmd = inv.cmd if shim is None else [str(SMTPSHIM), *shim, "--", *inv.cmd]
        cmd = [*(prefix or []), *cmd]
        full = {**os.environ, "SMTPSHIM_CONFIG": "", "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
                **(inv.env or {}), **(env or {})}
        full = {k: v for k, v in full.items() if v is not None}
        proc = _execute(cmd, inv.stdin, full)
    return Run(proc, msg.data, msg.mail_from, inv.rcpts or msg.rcpts)


def shim_args(pki, *, mode: str | None = None, port: int | None = None,
              allow_loopback: bool = True) -> list:
    """smtpshim options for the tests: trust the test CA only; the test
    servers are all on loopback, so catching it must be allowed."""
    args = ["--ca-file", str(pki.ca_file)]
    if mode:
        args += ["--mode", mode]
    if port:
        args += ["--port", str(port)]
    if allow_loopback:
        args.append("--allow-loopback")
    return args
