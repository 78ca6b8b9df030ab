"""An SMTP upstream that fails on purpose, for the fault run
(test_faults_lose_no_mail.py, `make faults`).

FaultServer has two listeners: one with implicit TLS and one with STARTTLS.
Each accepted connection gets its fate from a seeded random schedule
(random.Random(f"{seed}:{listener}:{n}") for the n-th connection of that
listener): healthy, or one fault -- a (stage, action) pair from FAULTS --
applied where the session first reaches that stage:

  stages   greeting, ehlo-plain, starttls (STARTTLS listener, before TLS);
           handshake-start (ClientHello read, nothing answered),
           handshake-mid (the server's first TLS flight sent);
           greeting (implicit listener, inside TLS), ehlo, mail, rcpt, data
           (the reply to DATA), body (part of the message read), dot (the
           whole message read)
  actions  reset (RST), fin (FIN, no close_notify), stall (read and say
           nothing until the client gives up), 4xx, 5xx

At "dot", reset, fin and stall store the message first and then send no
reply: the client cannot know the message arrived, so a later duplicate is
legitimate there. 4xx and 5xx at "dot" store nothing. Besides, while
faulty, each listener is closed for a short while every few seconds, so
connections are refused.

Every reply that is neither 2xx nor 3xx, and every 250 to a message,
carries a token unique in the run ("[i12.3]": implicit listener,
connection 12, third reply), so a line of exim's log can be traced to the
one reply it quotes: `replies` maps token -> (code, stage, injected).
`copies` holds every message stored (Copy), with how it was answered.
`healthy = True` switches the faults off (connections already running keep
theirs).
"""
import random
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass

from .pki import CertKey

ACTIONS = ("reset", "fin", "stall", "4xx", "5xx")
STAGES = {
    "implicit": ("handshake-start", "handshake-mid", "greeting", "ehlo", "mail", "rcpt",
                 "data", "body", "dot"),
    "starttls": ("greeting", "ehlo-plain", "starttls", "handshake-start", "handshake-mid",
                 "ehlo", "mail", "rcpt", "data", "body", "dot"),
}
_NO_REPLY_STAGES = ("handshake-start", "handshake-mid", "body")


def faults(listener: str) -> list:
    """Every (stage, action) the listener injects."""
    return [(s, a) for s in STAGES[listener] for a in ACTIONS
            if not (s in _NO_REPLY_STAGES and a in ("4xx", "5xx"))]


_CODES = {"4xx": {"greeting": "421 4.3.2", "starttls": "454 4.7.0", "mail": "451 4.3.0",
                  "rcpt": "450 4.2.0", "data": "451 4.3.0", "dot": "451 4.3.0",
                  "ehlo": "421 4.3.2", "ehlo-plain": "421 4.3.2"},
          "5xx": {"greeting": "554 5.3.2", "starttls": "554 5.7.0", "mail": "550 5.7.1",
                  "rcpt": "550 5.1.1", "data": "554 5.3.0", "dot": "554 5.6.0",
                  "ehlo": "550 5.5.0", "ehlo-plain": "550 5.5.0"}}

STALL_MAX = 120     # seconds a stalled connection is held at most
LINE_MAX = 4096


@dataclass
class Copy:
    """A message the server stored."""
    message_id: str
    content: bytes          # as received, dot-unstuffed
    token: str              # the token of its 250, or of the connection's fate
    answer: str             # "250", or the fault after the dot: "reset", "fin", "stall"
    conn: str               # e.g. "s7"
    peer_port: int          # the client's (the relay's) port
    client_continued: bool = False   # the client spoke again after our 250


@dataclass
class ConnRecord:
    name: str
    peer_port: int
    start: float
    end: float = 0.0
    fault: tuple | None = None
    applied: bool = False


class _Gone(Exception):
    """The connection is over (the client left, or a fault ended it)."""


class _Session:
    def __init__(self, server: "FaultServer", sock: socket.socket, rec: ConnRecord,
                 listener: str, rng: random.Random):
        self.server, self.sock, self.rec, self.listener, self.rng = \
            server, sock, rec, listener, rng
        self.buf = bytearray()
        self.seq = 0
        self.tls = False
        self.last_copy: Copy | None = None
        self.pipelined = 0   # bytes the client sent before it could see our last 250

    # ---- faults ------------------------------------------------------------

    def fault_at(self, stage: str) -> str | None:
        """The action to take at `stage`, once per connection."""
        if self.rec.fault and not self.rec.applied and self.rec.fault[0] == stage:
            self.rec.applied = True
            self.server._count(self.listener, self.rec.fault)
            return self.rec.fault[1]
        return None

    def end(self, action: str):
        """reset, fin or stall: the connection ends without a reply."""
        s = self.sock
        try:        # (the client may have gone already)
            if action == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif action == "fin":
                # no close_notify: the socket layer below TLS
                socket.socket.shutdown(s, socket.SHUT_WR)
                self._drain(5)
            else:
                self._drain(STALL_MAX)
        except OSError:
            pass
        raise _Gone()

    def _drain(self, limit: float):
        """Reads and ignores until the client closes (or `limit`)."""
        deadline = time.monotonic() + limit
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline and not self.server._stopping:
            try:
                if not self.sock.recv(65536):
                    return
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                return

    # ---- replies -----------------------------------------------------------

    def token(self) -> str:
        self.seq += 1
        return f"{self.rec.name}.{self.seq}"

    def reply(self, text: str, stage: str, injected: bool = False):
        """Sends text; a non-2xx/3xx reply gets its token and is recorded."""
        if text[0] in "45":
            tok = self.token()
            text = f"{text} [{tok}] {'fault' if injected else 'refused'} at {stage}"
            self.server._reply(tok, text[:3], stage, injected)
        self.send(text)

    def send(self, text: str):
        """Sends one reply (its lines CRLF-separated, without the last CRLF)."""
        try:
            self.sock.sendall(text.encode() + b"\r\n")
        except (OSError, ssl.SSLError):
            raise _Gone()

    def fault_or(self, stage: str) -> bool:
        """Applies the fault at `stage`, if any; True if it replied (4xx/5xx)."""
        action = self.fault_at(stage)
        if action in ("reset", "fin", "stall"):
            self.end(action)
        if action in ("4xx", "5xx"):
            self.reply(_CODES[action][stage], stage, injected=True)
            if stage in ("greeting", "ehlo", "ehlo-plain") and action == "4xx":
                self.end("fin")      # 421 closes
            return True
        return False

    # ---- reading -----------------------------------------------------------

    def readline(self) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                raise _Gone()
            try:
                data = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                raise _Gone()
            if not data:
                raise _Gone()
            self.buf += data
        i = self.buf.index(b"\n") + 1
        line = bytes(self.buf[:i])
        del self.buf[:i]
        if self.last_copy is not None:
            # a line it sent with its final dot (exim pipelines a QUIT) is
            # no sign that it read our 250
            if self.pipelined >= len(line):
                self.pipelined -= len(line)
            else:
                self.last_copy.client_continued = True
                self.last_copy = None
        return line

    # ---- TLS -----------------------------------------------------------------

    def start_tls(self):
        ctx = self.server._ctx
        action = self.fault_at("handshake-start")
        if action:
            self.sock.settimeout(10)
            try:
                self.sock.recv(1, socket.MSG_PEEK)     # the ClientHello is here
            except OSError:
                raise _Gone()
            self.end(action)
        action = self.fault_at("handshake-mid")
        if action:
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(inc, out, server_side=True)
            self.sock.settimeout(10)
            while True:
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    if out.pending:
                        self.sock.sendall(out.read())
                        break
                    data = self.sock.recv(65536)
                    if not data:
                        raise _Gone()
                    inc.write(data)
                except (OSError, ssl.SSLError):
                    raise _Gone()
            self.end(action)
        self.sock.settimeout(30)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError):
            raise _Gone()
        self.sock.settimeout(None)
        self.tls = True

    # ---- the session -----------------------------------------------------------

    def run(self):
        if self.listener == "implicit":
            self.start_tls()
        refused = self.fault_or("greeting")   # a 554 greeting: only QUIT is served
        if not refused:
            self.send("220 mail.test ESMTP fault server")
        envelope_ok = rcpts = 0
        while True:
            line = self.readline()
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if refused and verb != "QUIT":
                self.reply("503 5.5.1 the session was refused: only QUIT", "refused")
            elif verb in ("EHLO", "HELO"):
                stage = "ehlo" if self.tls else "ehlo-plain"
                if self.fault_or(stage):
                    continue
                envelope_ok = rcpts = 0
                if verb == "HELO":
                    self.send("250 mail.test")
                    continue
                caps = ["mail.test", "PIPELINING", "8BITMIME", "SIZE 104857600"]
                if self.listener == "starttls" and not self.tls:
                    caps.append("STARTTLS")
                self.send("\r\n".join(f"250-{c}" for c in caps[:-1]) + f"\r\n250 {caps[-1]}")
            elif verb == "STARTTLS" and self.listener == "starttls" and not self.tls:
                if self.fault_or("starttls"):
                    continue
                self.send("220 2.0.0 go ahead")
                self.buf.clear()
                self.start_tls()
                envelope_ok = rcpts = 0
            elif verb == "MAIL":
                if self.fault_or("mail"):
                    continue
                envelope_ok, rcpts = 1, 0
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if not envelope_ok:
                    self.reply("503 5.5.1 MAIL first", "rcpt")
                    continue
                if self.fault_or("rcpt"):
                    continue
                rcpts += 1
                self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients", "data")
                    continue
                if self.fault_or("data"):
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                self.data()
                envelope_ok = rcpts = 0
            elif verb == "RSET":
                envelope_ok = rcpts = 0
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                raise _Gone()
            else:
                self.reply("502 5.5.2 command not recognized", "command")

    def data(self):
        lines, cut = [], None
        if self.rec.fault and self.rec.fault[0] == "body" and not self.rec.applied:
            cut = self.rng.randint(1, 40)       # lines read before the fault
        while True:
            line = self.readline()
            if line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b".") else line)
            if cut is not None and len(lines) >= cut:
                self.end(self.fault_at("body"))
        content = b"".join(lines)
        action = self.fault_at("dot")
        if action in ("4xx", "5xx"):
            self.reply(_CODES[action]["dot"], "dot", injected=True)
            return
        message_id = _message_id(content)
        tok = self.token()
        copy = Copy(message_id, content, tok, action or "250", self.rec.name,
                    self.rec.peer_port)
        self.server._store(copy)
        if action:
            self.end(action)
        self.pipelined = len(self.buf)
        self.send(f"250 2.0.0 Ok: queued as {tok}")
        self.last_copy = copy


def _message_id(content: bytes) -> str:
    for line in content.split(b"\r\n"):
        if not line:
            break
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().strip(b"<>").decode("latin-1")
    return ""


@dataclass
class _Listener:
    kind: str
    port: int
    sock: socket.socket | None = None
    next_flap: float = 0.0
    closed_until: float = 0.0
    count: int = 0


class FaultServer:
    """fault_rate: the share of connections that get a fault while not
    healthy; flap: (every, for) seconds ranges of the refusal windows."""

    def __init__(self, cert: CertKey, seed: int, *, fault_rate: float = 0.5,
                 flap: tuple = ((3.0, 8.0), (0.3, 1.0)), host: str = "127.0.0.1"):
        self.seed, self.fault_rate, self.flap, self.host = seed, fault_rate, flap, host
        self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ctx.load_cert_chain(cert.cert, cert.key)
        self.healthy = False
        self._stopping = False
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:flap")
        self.copies: list[Copy] = []
        self.replies: dict[str, tuple] = {}      # token -> (code, stage, injected)
        self.conns: list[ConnRecord] = []
        self.faults_applied: Counter = Counter()  # (listener, stage, action) -> n
        self.refusal_windows = 0
        self.listeners = {k: _Listener(k, 0) for k in STAGES}
        self._threads = []

    # ---- records -------------------------------------------------------------

    def _count(self, listener, fault):
        with self._lock:
            self.faults_applied[(listener, *fault)] += 1

    def _reply(self, tok, code, stage, injected):
        with self._lock:
            self.replies[tok] = (code, stage, injected)

    def _store(self, copy: Copy):
        with self._lock:
            self.copies.append(copy)

    # ---- listening --------------------------------------------------------------

    def _listen(self, lst: _Listener):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, lst.port))
        s.listen(128)
        s.settimeout(0.05)
        lst.sock, lst.port = s, s.getsockname()[1]

    def start(self) -> "FaultServer":
        for lst in self.listeners.values():
            self._listen(lst)
            lst.next_flap = time.monotonic() + self._rng.uniform(*self.flap[0])
            t = threading.Thread(target=self._accept_loop, args=(lst,), daemon=True,
                                 name=f"fault-{lst.kind}")
            t.start()
            self._threads.append(t)
        return self

    def port(self, kind: str) -> int:
        return self.listeners[kind].port

    def _accept_loop(self, lst: _Listener):
        while not self._stopping:
            now = time.monotonic()
            if lst.sock and not self.healthy and now >= lst.next_flap:
                lst.sock.close()         # connections are refused for a while
                lst.sock = None
                lst.closed_until = now + self._rng.uniform(*self.flap[1])
                with self._lock:
                    self.refusal_windows += 1
            if lst.sock is None:
                if now < lst.closed_until and not self.healthy:
                    time.sleep(0.02)
                    continue
                self._listen(lst)
                lst.next_flap = now + self._rng.uniform(*self.flap[0])
            try:
                conn, peer = lst.sock.accept()
            except (socket.timeout, OSError):
                continue
            lst.count += 1
            name = f"{lst.kind[0]}{lst.count}"
            rng = random.Random(f"{self.seed}:{lst.kind}:{lst.count}")
            fault = None
            if not self.healthy and rng.random() < self.fault_rate:
                fault = rng.choice(faults(lst.kind))
            rec = ConnRecord(name, peer[1], time.time(), fault=fault)
            with self._lock:
                self.conns.append(rec)
            threading.Thread(target=self._serve, args=(conn, rec, lst.kind, rng),
                             daemon=True, name=f"fault-{name}").start()
        if lst.sock:
            lst.sock.close()

    def _serve(self, conn, rec, kind, rng):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(None)
        session = _Session(self, conn, rec, kind, rng)
        try:
            session.run()
        except _Gone:
            pass
        except Exception as e:     # a bug of this server: say so in its record
            rec.fault = ("server-error", repr(e))
        finally:
            rec.end = time.time()
            try:
                session.sock.close()
            except OSError:
                pass

    def stop(self):
        self._stopping = True
        for t in self._threads:
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- figures ------------------------------------------------------------------

    def faults_by_kind(self) -> dict:
        """'stage action' -> n, over both listeners."""
        out = Counter()
        for (_, stage, action), n in self.faults_applied.items():
            out[f"{stage} {action}"] += n
        return dict(sorted(out.items()))
