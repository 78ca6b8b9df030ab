"""A scripted, deliberately misbehaving SMTP server that records every byte.

HostileServer(behaviour, cert) listens on a free loopback port and plays one
misbehaviour per connection (see BEHAVIOURS). Each connection leaves a
Connection record with the bytes it received, split by where they came:

  plain    raw bytes read before the server switched to TLS
  tls_raw  raw bytes read after the switch (ciphertext -- or whatever a
           broken client sent instead; kept so a plaintext leak after the
           STARTTLS 220 is still visible when the handshake fails)
  tls      bytes decrypted from the TLS session

TLS runs over ssl.MemoryBIO, so no byte the peer sends can disappear inside
the ssl module unrecorded.

Wherever a relay that ignored the misbehaviour could carry on, the server
carries on too, as an ordinary accepting SMTP server (STARTTLS honoured,
every command answered 250, messages "stored" in `stored`): a relay that
failed to notice the trouble then lets the client report success, and the
test fails instead of passing by accident.
"""
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field

from .pki import CertKey

# behaviour -> True if the server speaks implicit TLS (TLS from the first byte)
BEHAVIOURS = {
    # STARTTLS family (upstream on the --mode starttls side)
    "inject": False,         # "220 go ahead\r\n250 injected\r\n" in one send
    "inject-late": False,    # the same, the second line ~50 ms after the 220
    "substring": False,      # offers XSTARTTLS / STARTTLSX, never STARTTLS
    "refuse-454": False,     # answers STARTTLS with 454
    "greeting-554": False,   # greets with 554
    "garbage-plain": False,  # greets with an HTTP status line, in plaintext
    "huge-line-plain": False,  # greets with a 1 MiB line without newline, in plaintext
    # implicit TLS
    "garbage": True,         # greets (inside TLS) with an HTTP status line
    "huge-line": True,       # greets (inside TLS) with a 1 MiB line without newline
    "drop-in-data": True,    # normal until DATA's 354, then a TCP reset mid-message
    "drop-in-data-fin": True,  # ... then a bare FIN (no TLS close_notify) mid-message
    "drop-after-data": True,   # reads the whole message, then a TCP reset instead of a reply
    "many-lines": True,      # greets with a 1000-line reply
    "mute-after-tls": True,  # completes the TLS handshake, then never says a word
    "refuse-auth": False,    # ordinary, but answers every AUTH with 504 (no such mechanism)
    "cr-lines": False,       # ordinary, but a bare CR ends a line too, in commands and in
                             # DATA (appliances' "clean CR/LF"): smuggling works on it
    # either
    "silent": False,         # accepts TCP and never says a word
}

HOST_NAME = b"hostile.test"
HUGE = 1 << 20
IO_TIMEOUT = 15      # no conversation of the tests waits longer than this
LINE_MAX = 65536


class _Stop(Exception):
    """The script is over for this connection."""


@dataclass
class Connection:
    plain: bytearray = field(default_factory=bytearray)
    tls_raw: bytearray = field(default_factory=bytearray)
    tls: bytearray = field(default_factory=bytearray)
    events: list = field(default_factory=list)   # what happened, in order, for reports

    def describe(self) -> str:
        def cut(b):
            b = bytes(b)
            return repr(b if len(b) <= 300 else b[:300] + b"...")
        return (f"events={self.events}\n  plain={cut(self.plain)}\n"
                f"  tls_raw: {len(self.tls_raw)} bytes, starts {bytes(self.tls_raw[:16])!r}\n"
                f"  tls={cut(self.tls)}")


@dataclass(frozen=True)
class Stored:
    mail_from: bytes
    rcpts: tuple
    data: bytes
    tls: bool


class _Session:
    """One connection: line I/O over plain TCP or over TLS (MemoryBIO)."""

    def __init__(self, server: "HostileServer", sock: socket.socket, rec: Connection):
        self.srv, self.sock, self.rec = server, sock, rec
        self.buf = bytearray()          # received, not yet consumed by the script
        self.tls = None                 # ssl.SSLObject once TLS is up
        self._in = self._out = None

    # -- raw transport --------------------------------------------------

    def _recv_raw(self) -> bytes:
        try:
            data = self.sock.recv(65536)
        except OSError as e:    # socket.timeout included
            self.rec.events.append(f"recv failed: {e!r}")
            raise _Stop from e
        self._record(data)
        return data

    def _record(self, data: bytes):
        if self._in is None:
            self.rec.plain += data
        else:
            self.rec.tls_raw += data

    def _send_raw(self, data: bytes):
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.rec.events.append(f"send failed: {e!r}")
            raise _Stop from e

    def _flush_tls(self):
        data = self._out.read()
        if data:
            self._send_raw(data)

    # -- the stream the script sees -------------------------------------

    def _fill(self):
        """At least one more byte of the (plain or decrypted) stream into buf."""
        if self.tls is None:
            data = self._recv_raw()
            if not data:
                self.rec.events.append("eof")
                raise _Stop
            self.buf += data
            return
        while True:
            try:
                data = self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._flush_tls()
                raw = self._recv_raw()
                if not raw:
                    self.rec.events.append("eof (no close_notify)")
                    raise _Stop
                self._in.write(raw)
                continue
            except ssl.SSLError as e:
                self.rec.events.append(f"tls read failed: {e!r}")
                raise _Stop from e
            if not data:
                self.rec.events.append("close_notify")
                raise _Stop
            self.rec.tls += data
            self.buf += data
            return

    def send(self, data: bytes):
        if self.tls is None:
            self._send_raw(data)
        else:
            self.tls.write(data)
            self._flush_tls()

    def read_line(self) -> bytes:
        if self.srv.behaviour == "cr-lines":
            return self._read_line_cr()
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                self.rec.events.append("client line too long")
                raise _Stop
            self._fill()
        i = self.buf.index(b"\n") + 1
        line = bytes(self.buf[:i])
        del self.buf[:i]
        return line

    def _read_line_cr(self) -> bytes:
        """A line ended by CRLF, a bare LF or a bare CR (whether a CR is
        bare is known once the byte after it has come)."""
        while True:
            ends = [i for i in (self.buf.find(b"\r"), self.buf.find(b"\n")) if i >= 0]
            if ends:
                i = min(ends)
                if self.buf[i:i + 1] == b"\r" and i + 1 == len(self.buf):
                    self._fill()
                    continue
                n = i + 2 if self.buf[i:i + 2] == b"\r\n" else i + 1
                line = bytes(self.buf[:n])
                del self.buf[:n]
                return line
            if len(self.buf) > LINE_MAX:
                self.rec.events.append("client line too long")
                raise _Stop
            self._fill()

    def wait_for_hangup(self, seconds: float):
        """Give the peer `seconds` to hang up (then _Stop); what it sends
        meanwhile is recorded and kept for the script."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return                      # a quiet peer: carry on
        except OSError as e:
            self.rec.events.append(f"recv failed: {e!r}")
            raise _Stop from e
        finally:
            self.sock.settimeout(IO_TIMEOUT)
        self._record(data)
        if not data:
            self.rec.events.append("eof")
            raise _Stop
        if self._in is None:
            self.buf += data
        else:
            self._in.write(data)

    def start_tls(self):
        """Server side of a TLS handshake; bytes already buffered (sent
        before the switch, i.e. in plaintext) are fed to it as they are."""
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._in.write(bytes(self.buf))
        self.buf.clear()
        obj = self.srv.ssl_context.wrap_bio(self._in, self._out, server_side=True)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush_tls()
                raw = self._recv_raw()
                if not raw:
                    self.rec.events.append("tls failed: eof during the handshake")
                    raise _Stop
                self._in.write(raw)
            except ssl.SSLError as e:
                self.rec.events.append(f"tls failed: {e!r}")
                try:
                    self._flush_tls()   # the alert, as a real server would
                except _Stop:
                    pass
                raise _Stop from e
        self._flush_tls()
        self.tls = obj
        self.rec.events.append(f"tls up ({obj.version()})")

    def abort(self, *, reset: bool):
        """Go away without a word: RST (SO_LINGER 0) or a bare FIN."""
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.rec.events.append("reset" if reset else "fin without close_notify")
        raise _Stop


class HostileServer:
    def __init__(self, behaviour: str, cert: CertKey | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, quiet_for: float = IO_TIMEOUT):
        """quiet_for: how long "silent" and "mute-after-tls" keep a
        connection open in silence before they close it (FIN)."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {sorted(BEHAVIOURS)}")
        self.behaviour = behaviour
        self.quiet_for = quiet_for
        self.implicit = BEHAVIOURS[behaviour]
        self.ssl_context = None
        if cert is not None:
            self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ssl_context.load_cert_chain(cert.cert, cert.key)
        elif self.implicit or behaviour != "silent":
            # the STARTTLS ones need it too: they honour a STARTTLS they should not get
            raise ValueError(f"behaviour {behaviour} needs a certificate")
        self.connections: list[Connection] = []
        self.stored: list[Stored] = []
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((host, port))
        self.host, self.port = host, self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, daemon=True,
                                          name=f"hostile-{behaviour}-{self.port}")

    # -- life cycle -------------------------------------------------------

    def start(self) -> "HostileServer":
        self._acceptor.start()
        return self

    def stop(self):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._acceptor.join(5)
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            rec = Connection()
            t = threading.Thread(target=self._serve, args=(sock, rec), daemon=True)
            with self._lock:
                self.connections.append(rec)
                self._socks.append(sock)
                self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket, rec: Connection):
        sock.settimeout(IO_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = _Session(self, sock, rec)
        try:
            self._script(s)
        except _Stop:
            pass
        except Exception as e:     # a harness bug: keep it visible in the record
            rec.events.append(f"script error: {e!r}")
        finally:
            try:
                sock.close()
            except OSError:
                pass

    # -- the scripts ------------------------------------------------------

    def _script(self, s: _Session):
        b = self.behaviour
        if b == "silent":
            s.sock.settimeout(self.quiet_for)
            while s._recv_raw():    # record whatever comes, say nothing
                pass
            s.rec.events.append("eof")
            return
        if self.implicit:
            s.start_tls()
        if b == "mute-after-tls":
            s.sock.settimeout(self.quiet_for)
            while True:
                s._fill()           # record whatever comes, say nothing
        if b in ("garbage", "garbage-plain"):
            s.send(b"HTTP/1.1 400 Bad Request\r\n")
            s.rec.events.append("sent garbage greeting")
        elif b in ("huge-line", "huge-line-plain"):
            s.send(b"220 " + b"x" * HUGE)
            s.rec.events.append("sent huge line")
            # A relay without a line cap would still be waiting: end the line
            # and carry on, so such a relay delivers and the test fails.
            s.wait_for_hangup(0.5)
            s.send(b"\r\n")
        elif b == "many-lines":
            s.send(b"".join(b"220-line %d\r\n" % i for i in range(999)) + b"220 " + HOST_NAME
                   + b" ESMTP\r\n")
        elif b == "greeting-554":
            s.send(b"554 go away\r\n")
        else:
            s.send(b"220 " + HOST_NAME + b" ESMTP hostile\r\n")
        self._smtp(s)

    def _ehlo_reply(self, s: _Session) -> bytes:
        caps = [b"PIPELINING", b"8BITMIME", b"SIZE 100000000"]
        if s.tls is None:
            caps += [b"XSTARTTLS", b"STARTTLSX"] if self.behaviour == "substring" \
                else [b"STARTTLS"]
        lines = [HOST_NAME, *caps]
        return b"".join(b"250" + (b" " if i == len(lines) - 1 else b"-") + line + b"\r\n"
                        for i, line in enumerate(lines))

    def _starttls(self, s: _Session):
        b = self.behaviour
        if b == "refuse-454":
            s.send(b"454 4.7.0 TLS not available\r\n")
            s.rec.events.append("refused STARTTLS")
            return      # and serve on in plaintext
        if b == "inject":
            s.send(b"220 go ahead\r\n250 injected\r\n")
            s.rec.events.append("injected")
        elif b == "inject-late":
            s.send(b"220 go ahead\r\n")
            time.sleep(0.05)
            s.send(b"250 injected\r\n")
            s.rec.events.append("injected late")
        else:
            s.send(b"220 2.0.0 go ahead\r\n")
        s.start_tls()

    def _smtp(self, s: _Session):
        """An ordinary, accepting server from here on."""
        mail_from, rcpts = None, []
        while True:
            line = s.read_line()
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                s.send(self._ehlo_reply(s) if verb == b"EHLO" else b"250 " + HOST_NAME + b"\r\n")
            elif verb == b"STARTTLS" and s.tls is None:
                self._starttls(s)
            elif verb == b"MAIL":
                mail_from, rcpts = line, []
                s.send(b"250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line)
                s.send(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                s.send(b"354 go ahead\r\n")
                s.rec.events.append("354")
                data = self._data(s)
                if self.behaviour == "drop-after-data":
                    s.rec.events.append(f"dropping after the whole message ({len(data)} bytes)")
                    s.abort(reset=True)
                with self._lock:
                    self.stored.append(Stored(mail_from, tuple(rcpts), data, s.tls is not None))
                s.rec.events.append("stored")
                s.send(b"250 2.0.0 stored\r\n")
            elif verb == b"QUIT":
                s.send(b"221 2.0.0 bye\r\n")
                s.rec.events.append("quit")
                return
            elif verb == b"AUTH" and self.behaviour == "refuse-auth":
                s.send(b"504 5.5.4 unrecognized authentication type\r\n")
                s.rec.events.append("refused AUTH")
            elif verb in (b"RSET", b"NOOP"):
                s.send(b"250 2.0.0 ok\r\n")
            else:
                s.send(b"502 5.5.2 not here\r\n")

    def _data(self, s: _Session) -> bytes:
        if self.behaviour == "cr-lines":
            data = bytearray()
            while True:
                line = s.read_line()
                if line.rstrip(b"\r\n") == b".":
                    return bytes(data)
                data += line
        dropping = self.behaviour.startswith("drop-in-data")
        # Wait for part of the message, so the client is mid-send when we go.
        while dropping and len(s.buf) < 16384 and b"\r\n.\r\n" not in s.buf:
            s._fill()
        if dropping:
            s.rec.events.append(f"dropping after {len(s.buf)} bytes of content")
            s.abort(reset=self.behaviour == "drop-in-data")
        while True:
            end = s.buf.find(b"\r\n.\r\n")
            if end >= 0 or s.buf.startswith(b".\r\n"):
                n = end + 5 if end >= 0 else 3
                data = bytes(s.buf[:n])
                del s.buf[:n]
                return data
            s._fill()

    # -- for the tests --------------------------------------------------------

    def received(self) -> list[Connection]:
        with self._lock:
            return list(self.connections)

    def describe(self) -> str:
        return "\n".join(f"hostile {self.behaviour} connection {i}: {c.describe()}"
                         for i, c in enumerate(self.received())) or \
            f"hostile {self.behaviour}: no connection"
