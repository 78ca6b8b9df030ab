"""The C test programs of tests/programs: building them and running them
under smtpshim.

Each program proves one behaviour of a host program (socket_wrapper style):
it connects the way the behaviour demands, prints one "ok: ..." line per
fact it checked itself, delivers the test message with the shared SMTP core
(tests/programs/smtp_client.c), and exits 0; on any failure it prints
"FAIL: <cause>" and exits 1. The tests here add what only the outside can
see: the message stored byte-identical and over TLS, nothing at the
plaintext trap, and no relay process left behind.

Programs are compiled once per session, on first use, into a pytest tmp
dir: natively with `cc`, as 32-bit with `cc -m32`, or against musl with
`musl-gcc`. A compiler that is missing or cannot link skips the tests that
need it, with the reason.
"""
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .checks import assert_delivered
from .clients import REPO, SMTPSHIM, Run, shim_args

SOURCES = REPO / "tests" / "programs"
CORE = [SOURCES / "smtp_client.c"]
CFLAGS = ["-O2", "-g", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
          "-pthread"]
COMPILERS = {"native": ["cc"], "i386": ["cc", "-m32"], "musl": ["musl-gcc"]}

# The envelope and EHLO name compiled into smtp_client.h.
MAIL_FROM = "alice@client.test"
RCPTS = ("bob@mail.test", "carol@other.test")

RUN_TIMEOUT = 40      # seconds; the programs bound each of their own waits at 15
RELAY_GRACE = 5.0     # seconds a relay may take to finish after its program


class Programs:
    """Compiles programs on demand and remembers what it built."""

    def __init__(self, outdir: Path):
        self.outdir = outdir
        self._built: dict[tuple, Path] = {}
        self._usable: dict[tuple, str | None] = {}
        self._lock = threading.Lock()

    def unbuildable(self, variant: str) -> str | None:
        """Why `variant` cannot be compiled here, or None if it can."""
        return self._once(("build", variant), self._probe_build, variant)

    def unusable(self, variant: str) -> str | None:
        """Why `variant` cannot be built or run here, or None if it can."""
        return (self.unbuildable(variant) or
                self._once(("run", variant), self._probe_run, variant))

    def _once(self, key, probe, variant):
        with self._lock:
            if key not in self._usable:
                self._usable[key] = probe(variant)
            return self._usable[key]

    def _probe_build(self, variant: str) -> str | None:
        cc = COMPILERS[variant]
        if not shutil.which(cc[0]):
            return f"{cc[0]} is not installed"
        probe = self.outdir / f"probe-{variant}.c"
        probe.write_text("#include <stdio.h>\nint main(void) { puts(\"probe\"); return 0; }\n")
        out = self.outdir / f"probe-{variant}"
        p = subprocess.run([*cc, "-o", str(out), str(probe)], capture_output=True, text=True)
        if p.returncode:
            return f"{' '.join(cc)} cannot build a program: {p.stderr.strip()[-300:]}"
        return None

    def _probe_run(self, variant: str) -> str | None:
        try:
            r = subprocess.run([str(self.outdir / f"probe-{variant}")], capture_output=True,
                               text=True)
        except OSError as e:    # a kernel without 32-bit support: Exec format error
            return f"{variant} programs cannot be started here: {e.strerror}"
        if r.returncode or r.stdout != "probe\n":
            return f"{variant} programs do not run here: {r.stderr.strip()[-300:]}"
        return None

    def require(self, variant: str):
        why = self.unusable(variant)
        if why:
            pytest.skip(f"no {variant} build: {why}")

    def build(self, name: str, variant: str = "native", *, shared: bool = False,
              link: tuple = (), tag: str = "") -> Path:
        """Builds tests/programs/<name>.c with the SMTP core; a shared
        library lib<name>.so if `shared`; `link` adds linker arguments
        (`tag` tells such a build apart from the plain one)."""
        self.require(variant)
        key = (name, variant, shared, link, tag)
        with self._lock:
            if key in self._built:
                return self._built[key]
            d = self.outdir / variant
            d.mkdir(exist_ok=True)
            out = d / (f"lib{name}.so" if shared else name + (f"+{tag}" if tag else ""))
            cmd = [*COMPILERS[variant], *CFLAGS, "-I", str(SOURCES), "-o", str(out)]
            if shared:
                cmd += ["-shared", "-fPIC", "-fvisibility=hidden"]
            cmd += [str(SOURCES / f"{name}.c"), *map(str, CORE), *link, "-ldl"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                pytest.fail(f"cannot build {name} ({variant}):\n$ {' '.join(cmd)}\n{p.stderr}")
            self._built[key] = out
            return out


# The fixtures are imported into each test module that uses them (conftest.py
# is not ours to extend); pytest then knows one fixture per module, so the
# session-wide state lives here, shared by all of them.
_SESSION: dict = {}


@pytest.fixture(scope="session")
def programs(tmp_path_factory) -> Programs:
    if "programs" not in _SESSION:
        _SESSION["programs"] = Programs(tmp_path_factory.mktemp("programs"))
    return _SESSION["programs"]


@pytest.fixture(scope="session")
def message_file(tmp_path_factory, message) -> Path:
    """The standard test message (harness/message.py) as a file."""
    if "message_file" not in _SESSION:
        path = tmp_path_factory.mktemp("message") / "message.eml"
        path.write_bytes(message.data)
        _SESSION["message_file"] = path
    return _SESSION["message_file"]


# ---- relays -----------------------------------------------------------------

def _netns(pid) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def relays(comm: str = "smtpshim-relay") -> dict[int, str]:
    """Live smtpshim-relay processes in this network namespace (other test
    runs on the machine have their own), pid -> "pid N (state)": the
    relays that serve a session, whether started for it or forked by a
    relay server; comm="smtpshim-server" for the servers themselves."""
    mine = _netns("self")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name = Path(f"/proc/{entry}/comm").read_text().strip()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if name == comm and state != "Z" and _netns(entry) == mine:
            found[int(entry)] = f"pid {entry} ({state})"
    return found


def relays_left(before: set, grace: float = RELAY_GRACE) -> dict[int, str]:
    """Relays not in `before` still running after `grace` seconds."""
    deadline = time.monotonic() + grace
    while True:
        left = {p: d for p, d in relays().items() if p not in before}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


# ---- running -----------------------------------------------------------------

@dataclass
class ProgramRun(Run):
    relays_before: set = field(default_factory=set)

    @property
    def oks(self) -> list[str]:
        """The facts the program proved, without the "ok: " prefix."""
        return [line[4:] for line in self.output.splitlines() if line.startswith("ok: ")]


def execute(cmd: list, *, env: dict | None = None,
            timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs cmd in a session of its own, so a hung program is killed with
    everything it started; the output so far is kept either way."""
    cmd = [str(c) for c in cmd]
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
                          start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            try:
                out, err = p.communicate(timeout=5)
            except subprocess.TimeoutExpired as e:
                out, err = e.stdout or b"", e.stderr or b""
            err += f"\n[harness: killed after {timeout}s]\n".encode()
    return subprocess.CompletedProcess(cmd, p.returncode, out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))


@pytest.fixture
def run_program(programs, pki, message_file, message):
    """run_program(name, server, *extra, host="mail.test", port=25,
    mode="tls", variant="native", exe=None, env=None, message_path=None,
    expected=None) -> ProgramRun

    Runs `exe` (default: program `name` built for `variant`) as
    `smtpshim --allow-loopback --ca-file CA --mode MODE --port <server's>
    -- PROG HOST PORT MESSAGE *extra` and returns what happened.
    server None: the upstream port is taken from `upstream_port`."""

    def run(name, server, *extra, host="mail.test", port=25, mode="tls", variant="native",
            exe=None, env=None, message_path=None, expected=None, upstream_port=None,
            timeout=RUN_TIMEOUT):
        exe = exe or programs.build(name, variant)
        shim = shim_args(pki, mode=mode, port=server.port if server else upstream_port)
        cmd = [SMTPSHIM, *shim, "--", exe, host, port, message_path or message_file, *extra]
        before = set(relays())
        proc = execute(cmd, env=env, timeout=timeout)
        return ProgramRun(proc, message.data if expected is None else expected, MAIL_FROM,
                          RCPTS, relays_before=before)

    return run


def assert_no_relay_left(run: ProgramRun, grace: float = RELAY_GRACE):
    left = relays_left(run.relays_before, grace)
    assert not left, (f"{len(left)} smtpshim-relay process(es) still running {grace:.0f} s "
                      f"after the program ended: {sorted(left.values())}\n{run.describe()}")


def assert_program_delivered(server, run: ProgramRun, *facts: str):
    """Exit 0, one message byte-identical over TLS with the right envelope,
    every fact in `facts` among the program's "ok:" lines, no relay left."""
    assert "FAIL:" not in run.output, run.describe()
    assert_delivered(server, run, tls=True)
    for fact in facts:
        assert fact in run.oks, f"the program did not report {fact!r}\n{run.describe()}"
    assert_no_relay_left(run)
