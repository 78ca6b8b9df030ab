"""The fault run: exim queues N messages and delivers them through the
system-wide shim to a FaultServer (harness/faulty.py) that fails at
random, while smtpshim-relay processes are killed at random moments; then
the upstream turns healthy and exim's queue is run until it is empty. What
happened is read from both ends -- the server's record of every message it
stored and every reply it gave, exim's mainlog -- and judged by judge():

- every message exim accepted (its "<=" lines) was delivered ("=>", the
  server's copy byte-identical) or bounced ("**") with a 5xx the server
  really sent (its token);
- every "=>" quotes a 250 the server gave to that very message: the
  program never saw a 250 the server did not give;
- every copy at the server beyond the one exim confirmed comes from a
  session that died after the final dot: the server's own fault there, or
  the relay killed after the dot (the server's 250 went to a relay that was
  gone, or that died before passing it on);
- exim's queue is empty and no relay is left running.

Used by test_faults_lose_no_mail.py (a few dozen messages in `make test`,
SMTPSHIM_FAULT_MESSAGES=500 for `make faults`).
"""
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .exim import EXIM, Exim
from .faulty import FaultServer
from .programs import relays

MAIL_FROM = "alice@client.test"
DOMAINS = ("mail.test", "other.test")     # implicit TLS, STARTTLS

# exim for the run: bounces to a file the test reads, remote mail for both
# test domains to the shim, short SMTP timeouts (a stalled server costs
# 5 s), retries allowed a second after a failure, for two days.
EXIM_MAIN = """\
qualify_domain = client.test
log_selector = +smtp_confirmation +received_recipients
bounce_return_size_limit = 2K
"""
EXIM_ROUTERS = """\
bounces:
  driver = accept
  domains = client.test
  transport = bounce_file
smarthost:
  driver = manualroute
  domains = mail.test : other.test
  transport = remote_smtp
  route_list = mail.test mail.test byname ; other.test other.test byname
  self = send
  no_more
"""
EXIM_TRANSPORT = """\
  connect_timeout = 5s
  command_timeout = 5s
  data_timeout = 5s
  final_timeout = 5s
"""
EXIM_TRANSPORTS = """\
bounce_file:
  driver = appendfile
  file = {work}/bounces/mbox
  user = Debian-exim
"""
EXIM_RETRY = "* * F,2d,1s"


def fault_exim() -> Exim:
    return Exim(main=EXIM_MAIN, routers=EXIM_ROUTERS, transport=EXIM_TRANSPORT,
                transports=EXIM_TRANSPORTS, retry=EXIM_RETRY, dirs=("bounces",))


def shim_sections(server: FaultServer) -> str:
    """What /etc/smtpshim.conf adds to harness.exim.shim_config for the
    run: a 2 s limit per setup step, mail.test by implicit TLS (the global
    mode), other.test by STARTTLS."""
    return (f"programs exim4\ntimeout 2\n[destination other.test]\nmode starttls\n"
            f"port {server.port('starttls')}\n")


# ---- the messages ------------------------------------------------------------------

@dataclass(frozen=True)
class FaultMessage:
    message_id: str
    rcpt: str
    data: bytes      # CRLF, not dot-stuffed: what the server must store after Received:


def make_messages(n: int, seed: int) -> list[FaultMessage]:
    """Bodies of 1 to ~120 KB, with lines that need dot-stuffing and a lone
    dot, so a fault in the middle of DATA has something to cut."""
    rng = random.Random(f"{seed}:messages")
    out = []
    for i in range(n):
        mid = f"fault-{seed}-{i}@client.test"
        rcpt = f"user{i}@{DOMAINS[i % 2]}"
        lines = [f"From: Alice <{MAIL_FROM}>", f"To: <{rcpt}>",
                 f"Subject: fault run message {i}", f"Message-ID: <{mid}>",
                 "Date: Thu, 01 Jan 2026 00:00:00 +0000", ""]
        count = rng.choice((5, 20, 60, 200, 600, 1500))
        for k in range(count):
            r = rng.random()
            if r < 0.03:
                lines.append(".")
            elif r < 0.08:
                lines.append(f".line {k} starts with a dot")
            elif r < 0.1:
                lines.append(f"..{k}")
            else:
                lines.append(f"{i:05d}-{k:05d} " + "%x" % rng.getrandbits(rng.choice((8, 64, 256))))
        lines.append(f"end of message {i}")
        out.append(FaultMessage(mid, rcpt, "\r\n".join(lines).encode() + b"\r\n"))
    return out


def bsmtp(messages: list[FaultMessage]) -> bytes:
    """Batched SMTP for `exim -bS`: all messages in one exim run."""
    parts = []
    for m in messages:
        stuffed = b"".join(b"." + line if line.startswith(b".") else line
                           for line in m.data.splitlines(keepends=True))
        parts.append(f"MAIL FROM:<{MAIL_FROM}>\r\nRCPT TO:<{m.rcpt}>\r\nDATA\r\n".encode()
                     + stuffed + b".\r\n")
    return b"".join(parts) + b"QUIT\r\n"


# ---- the relay killer ----------------------------------------------------------------

def _tcp_ports(pid: int, remote_ports: set) -> set:
    """Local ports of pid's TCP connections to any of remote_ports."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[9] in inodes and int(f[2].rsplit(":", 1)[1], 16) in remote_ports:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


class RelayKiller(threading.Thread):
    """SIGKILLs one live smtpshim-relay of this namespace every `every`
    seconds (a random range); records each kill with the relay's upstream
    ports, so the server's connections it cut are known."""

    def __init__(self, seed: int, upstream_ports: set, every=(0.2, 1.2)):
        super().__init__(daemon=True, name="relay-killer")
        self.rng = random.Random(f"{seed}:kills")
        self.upstream_ports, self.every = upstream_ports, every
        self.kills: list[tuple] = []        # (time, pid, upstream local ports)
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(self.rng.uniform(*self.every)):
            live = sorted(relays())
            if not live:
                continue
            pid = self.rng.choice(live)
            ports = _tcp_ports(pid, self.upstream_ports)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills.append((time.time(), pid, ports))

    def stop(self):
        self._stop_event.set()
        self.join(10)

    def killed_ports(self) -> set:
        return {p for _, _, ports in self.kills for p in ports}


# ---- exim's mainlog ----------------------------------------------------------------------

_LINE = re.compile(r"^\S+ \S+ (?:\[\d+\] )?(?P<id>\w{6}-\w{6,11}-\w{2,4}) "
                   r"(?P<flag><=|=>|->|\*\*|==|Completed)(?P<rest>.*)$")
_TOKEN = re.compile(r"\[([is]\d+\.\d+)\]")


@dataclass
class EximRecord:
    message_id: str = ""
    sender: str = ""
    delivered: list = field(default_factory=list)   # the C="..." of each remote "=>"
    bounced: list = field(default_factory=list)     # the text of each remote "**"
    deferrals: list = field(default_factory=list)   # the text of each "=="
    completed: bool = False


def parse_mainlog(text: str) -> dict[str, EximRecord]:
    """exim id -> what the mainlog says about that message."""
    recs: dict[str, EximRecord] = defaultdict(EximRecord)
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        r, rest = recs[m["id"]], m["rest"]
        if m["flag"] == "<=":
            r.sender = rest.split()[0]
            mid = re.search(r" id=(\S+)", rest)
            r.message_id = mid[1].strip("<>") if mid else ""
        elif m["flag"] == "=>" and "T=remote_smtp" in rest:
            c = re.search(r' C="(.*)"', rest)
            r.delivered.append(c[1] if c else rest)
        elif m["flag"] == "**" and "T=remote_smtp" in rest:
            r.bounced.append(rest)
        elif m["flag"] == "==":
            r.deferrals.append(rest)
        elif m["flag"] == "Completed":
            r.completed = True
    return recs


# ---- the run ---------------------------------------------------------------------------

@dataclass
class Figures:
    messages: int = 0
    accepted: int = 0
    delivered: int = 0
    bounced: int = 0
    bounced_by_stage: dict = field(default_factory=dict)
    bounce_messages: int = 0    # what reached the sender's mailbox
    copies: int = 0
    duplicates_after_dot_fault: int = 0
    duplicates_relay_killed_after_dot: int = 0
    duplicates_other: int = 0
    relay_kills: int = 0
    connections: int = 0
    refusal_windows: int = 0
    refused_attempts: int = 0
    deferrals: int = 0
    deferrals_421_smtpshim: int = 0
    faults_by_kind: dict = field(default_factory=dict)
    fault_rounds: int = 0
    healthy_rounds: int = 0
    wall_seconds: float = 0.0

    def text(self) -> str:
        lines = [
            f"messages {self.messages}, accepted by exim {self.accepted}, "
            f"delivered {self.delivered}, bounced with the server's 5xx {self.bounced} "
            f"{self.bounced_by_stage}, bounce messages to the sender {self.bounce_messages}",
            f"copies stored at the server {self.copies}; duplicates: after the final dot "
            f"(server fault) {self.duplicates_after_dot_fault}, relay killed after the "
            f"final dot {self.duplicates_relay_killed_after_dot}, "
            f"NOT after the dot {self.duplicates_other}",
            f"relay kills {self.relay_kills}; upstream connections {self.connections}; "
            f"refusal windows {self.refusal_windows} ({self.refused_attempts} attempts refused)",
            f"exim deferrals {self.deferrals} ({self.deferrals_421_smtpshim} were smtpshim 421s)",
            f"queue runs: {self.fault_rounds} with faults, {self.healthy_rounds} healthy; "
            f"wall time {self.wall_seconds:.1f} s",
            "faults by kind: " + ", ".join(f"{k} {v}" for k, v in self.faults_by_kind.items()),
        ]
        return "\n".join(lines)


def run_queue(exim: Exim, runners: int, env: dict, timeout: float) -> list:
    """`runners` concurrent `exim -qff`; their results."""
    exim.trust()
    procs = [subprocess.Popen([EXIM, "-C", str(exim.conf), "-qff"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for _ in range(runners)]
    out = []
    for p in procs:
        try:
            out.append((p.wait(timeout), p.stdout.read().decode(errors="replace")))
        except subprocess.TimeoutExpired:
            p.kill()
            out.append((None, f"exim -qff still running after {timeout} s: killed"))
    return out


def queue_count(exim: Exim) -> int:
    return int(exim.run("-bpc").stdout.decode().strip() or 0)


@dataclass
class Outcome:
    figures: Figures
    problems: list          # each a sentence saying what went wrong
    mainlog: str


def fault_run(exim: Exim, server: FaultServer, n: int, seed: int, *, fault_rounds: int = 3,
              max_healthy_rounds: int = 8, runners: int = 3, kill_every=(0.2, 1.2),
              queue_timeout: float = 900) -> Outcome:
    start = time.monotonic()
    messages = make_messages(n, seed)
    env = {"PATH": os.environ["PATH"], "LD_PRELOAD": "libsmtpshim.so"}
    problems = []

    queued = exim.run("-bS", "-odq", input=bsmtp(messages), timeout=300)
    if queued.returncode:
        problems.append(f"exim -bS failed: {queued.stdout!r} {queued.stderr!r}")

    fig = Figures(messages=n)
    killer = RelayKiller(seed, {server.port(k) for k in ("implicit", "starttls")}, kill_every)
    killer.start()
    for _ in range(fault_rounds):
        fig.fault_rounds += 1
        for rc, out in run_queue(exim, runners, env, queue_timeout):
            if rc is None:
                problems.append(f"a queue run with faults hung: {out}")
        if not queue_count(exim):
            break
    killer.stop()
    server.healthy = True
    while queue_count(exim) and fig.healthy_rounds < max_healthy_rounds:
        fig.healthy_rounds += 1
        time.sleep(1.1)         # the retry rule's 1 s interval
        for rc, out in run_queue(exim, runners, env, queue_timeout):
            if rc is None:
                problems.append(f"a healthy queue run hung: {out}")
    left = queue_count(exim)
    if left:
        listing = exim.run("-bp").stdout.decode(errors="replace")
        problems.append(f"{left} message(s) still in exim's queue after "
                        f"{fig.healthy_rounds} healthy queue runs:\n{listing[-3000:]}")
    deadline = time.monotonic() + 10
    while relays() and time.monotonic() < deadline:
        time.sleep(0.1)
    if relays():
        problems.append(f"smtpshim-relay processes still running after the run: "
                        f"{sorted(relays().values())}")
    fig.wall_seconds = time.monotonic() - start
    fig.relay_kills = len(killer.kills)
    mbox = exim.work / "bounces" / "mbox"
    fig.bounce_messages = mbox.read_bytes().count(b"\nX-Failed-Recipients: ") \
        if mbox.exists() else 0
    mainlog = exim.mainlog()
    problems += judge(messages, parse_mainlog(mainlog), server, killer, fig)
    return Outcome(fig, problems, mainlog)


def judge(messages, log: dict, server: FaultServer, killer: RelayKiller, fig: Figures) -> list:
    """The verdict (see the module's docstring); fills in fig."""
    problems = []
    expected = {m.message_id: m for m in messages}
    by_mid = {r.message_id: (xid, r) for xid, r in log.items() if r.sender == MAIL_FROM}
    copies = defaultdict(list)
    for c in server.copies:
        copies[c.message_id].append(c)
    by_token = {c.token: c for c in server.copies}
    killed = killer.killed_ports()
    conns = {c.name: c for c in server.conns}

    fig.accepted = len(by_mid)
    fig.copies = len(server.copies)
    fig.connections = len(server.conns)
    fig.refusal_windows = server.refusal_windows
    fig.faults_by_kind = server.faults_by_kind()
    bounced_by = Counter()
    for r in log.values():
        fig.deferrals += len(r.deferrals)
        fig.deferrals_421_smtpshim += sum("421 4." in d and "smtpshim:" in d for d in r.deferrals)
        fig.refused_attempts += sum("Connection refused" in d for d in r.deferrals)

    for c in server.conns:
        if c.fault and c.fault[0] == "server-error":
            problems.append(f"the fault server itself failed in {c.name}: {c.fault[1]}")
    missing = set(expected) - set(by_mid)
    if missing:
        problems.append(f"exim did not accept {len(missing)} of the {len(messages)} messages "
                        f"it was given, e.g. {sorted(missing)[:3]}")
    for c in server.copies:
        if c.message_id not in expected:
            problems.append(f"the server stored a message nobody sent: {c.message_id!r} "
                            f"({c.conn})")
        elif not _intact(c.content, expected[c.message_id].data):
            problems.append(f"the copy of {c.message_id} stored in {c.conn} ({c.answer}) is "
                            f"not the message exim was given byte for byte")

    for mid, (xid, r) in sorted(by_mid.items()):
        if mid not in expected:
            continue
        confirmed = None
        if len(r.delivered) > 1:
            problems.append(f"exim delivered {mid} ({xid}) {len(r.delivered)} times: "
                            f"{r.delivered}")
        for conf in r.delivered:
            tok = _TOKEN.search(conf) or re.search(r"queued as (\S+)", conf)
            c = by_token.get(tok[1]) if tok else None
            if not c or c.answer != "250" or c.message_id != mid:
                problems.append(f"exim logged {mid} ({xid}) as delivered with {conf!r}, but "
                                f"the server gave no such 250 to this message "
                                f"(its copy: {c})")
            else:
                confirmed = c
        for text in r.bounced:
            tok = _TOKEN.search(text)
            sent = server.replies.get(tok[1]) if tok else None
            code = re.search(r": ([45]\d\d)[ -]", text)
            if not sent or sent[0][0] != "5" or not code or code[1] != sent[0]:
                problems.append(f"exim bounced {mid} ({xid}) without a 5xx of the server's "
                                f"own: {text!r} (the server's record of it: {sent})")
            else:
                bounced_by[sent[1]] += 1
        if r.delivered and not r.bounced:
            fig.delivered += 1
        elif r.bounced and not r.delivered:
            fig.bounced += 1
        else:
            problems.append(f"{mid} ({xid}) was neither delivered nor bounced: lost "
                            f"(delivered {r.delivered}, bounced {r.bounced}, "
                            f"last deferral {r.deferrals[-1:]})")
        for c in copies[mid]:
            if c is confirmed:
                continue
            if c.answer in ("reset", "fin", "stall"):
                fig.duplicates_after_dot_fault += 1
            elif c.answer == "250" and c.peer_port in killed and not c.client_continued:
                fig.duplicates_relay_killed_after_dot += 1
            else:
                fig.duplicates_other += 1
                conn = conns.get(c.conn)
                problems.append(f"{mid} ({xid}) was stored again in {c.conn} (answer "
                                f"{c.answer}, client continued {c.client_continued}, "
                                f"relay killed {c.peer_port in killed}, connection {conn}) "
                                f"though that session did not die after the final dot")
    fig.bounced_by_stage = dict(sorted(bounced_by.items()))
    if fig.bounce_messages != fig.bounced:
        problems.append(f"{fig.bounced} messages bounced, but {fig.bounce_messages} bounce "
                        f"messages reached the sender's mailbox")
    return problems


def _intact(stored: bytes, want: bytes) -> bool:
    # exim prepends its Received: header and passes the rest untouched
    return stored.startswith(b"Received: ") and stored.endswith(b"\r\n" + want)
