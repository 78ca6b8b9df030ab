"""The program's socket stays a real TCP socket under the shim: options,
corking, keep-alive, half-close; getpeername() names the original
destination, also on duplicated descriptors and as the kernel formats it;
getsockname() is a sensible local address."""
import socket
import ssl
import threading
import time

import pytest

from harness.checks import assert_nothing_stored
from harness.programs import assert_program_delivered
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401
from harness.server import Received


def test_socket_options_behave(run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("socket_options_behave", srv)
    assert_program_delivered(srv, run, "an established TCP stream", "TCP_NODELAY 1",
                             "SO_KEEPALIVE 1", "TCP_KEEPIDLE 120", "TCP_CORK 1", "TCP_CORK 0")
    assert_nothing_stored(trap25)


class SequentialTlsServer:
    """An implicit-TLS SMTP server that, like Postfix or exim, reads one
    command, answers it, and only then reads on -- so it still answers a
    QUIT whose sender has half-closed already. (aiosmtpd cannot serve
    here: on end-of-file it cancels the command in progress, in plaintext
    as over TLS, so a QUIT it answers late is lost whatever the client runs
    under.) It answers QUIT after `quit_delay` seconds; one connection."""

    def __init__(self, cert, quit_delay: float):
        self.quit_delay = quit_delay
        self.messages: list[Received] = []
        self.events: list[str] = []
        self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ctx.load_cert_chain(cert.cert, cert.key)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def received(self):
        return list(self.messages)

    def _serve(self):
        self._sock.settimeout(30)
        try:
            raw, _ = self._sock.accept()
        except OSError:
            return
        raw.settimeout(15)
        try:
            with self._ctx.wrap_socket(raw, server_side=True) as conn:
                self._session(conn, conn.makefile("rb"))
        except (OSError, ValueError) as e:
            self.events.append(f"error: {e}")

    def _session(self, conn, rfile):
        conn.sendall(b"220 mail.test ESMTP sequential\r\n")
        helo, mail_from, rcpts = None, None, []
        while True:
            line = rfile.readline()
            if not line:
                self.events.append("end-of-file before QUIT")
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                helo = line[5:].strip().decode()
                conn.sendall(b"250-mail.test\r\n250 8BITMIME\r\n")
            elif verb in (b"MAIL", b"RCPT"):
                address = line.split(b"<", 1)[1].split(b">", 1)[0].decode()
                if verb == b"MAIL":
                    mail_from = address
                else:
                    rcpts.append(address)
                conn.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                content = bytearray()
                for data_line in iter(rfile.readline, b""):
                    if data_line == b".\r\n":
                        break
                    content += data_line[1:] if data_line.startswith(b".") else data_line
                self.messages.append(Received(mail_from, tuple(rcpts), bytes(content), True,
                                              conn.version(), helo))
                conn.sendall(b"250 2.0.0 Ok: stored\r\n")
            elif verb == b"QUIT":
                time.sleep(self.quit_delay)
                conn.sendall(b"221 2.0.0 Bye\r\n")
                self.events.append("221 sent")
                try:
                    conn.unwrap()
                except (OSError, ValueError):
                    pass
                return
            else:
                conn.sendall(b"502 5.5.2 Not implemented\r\n")

    def stop(self):
        self._sock.close()
        self._thread.join(20)


@pytest.fixture
def sequential_server(pki):
    srv = SequentialTlsServer(pki.mail, quit_delay=0.3)
    yield srv
    srv.stop()


def test_half_close_after_quit_reads_221(run_program, sequential_server, trap25):
    # The program sends QUIT and at once shutdown(SHUT_WR); the server
    # answers 300 ms later. The half-close must travel upstream as a
    # half-close (TLS close_notify), not end the session: the 221 arrives.
    run = run_program("half_close_after_quit_reads_221", sequential_server)
    assert_program_delivered(sequential_server, run, "send after shutdown(SHUT_WR): EPIPE",
                             "221 after shutdown(SHUT_WR)", "end-of-file after the 221")
    assert "221 sent" in sequential_server.events, sequential_server.events
    assert_nothing_stored(trap25)


def test_getpeername_is_original_destination(run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("getpeername_is_original_destination", srv)
    assert_program_delivered(srv, run, "getpeername on the socket: 127.0.0.1:25",
                             "getpeername on a dup()ed descriptor: 127.0.0.1:25",
                             "getpeername on an F_DUPFD descriptor: 127.0.0.1:25")
    assert_nothing_stored(trap25)


def test_getpeername_short_buffer_is_truncated(run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("getpeername_short_buffer_is_truncated", srv)
    assert_program_delivered(srv, run, "getpeername with a 4-byte buffer: truncated, length 16",
                             "getpeername with no buffer: length 16")
    assert_nothing_stored(trap25)


def test_getpeername_reports_kernel_length(run_program, start_server, trap25):
    # connect(fd, &storage, sizeof storage) with junk in sin_zero: the kernel
    # reports length 16 and a cleared sin_zero; the shim must too.
    srv = start_server("implicit")
    run = run_program("getpeername_reports_kernel_length", srv)
    assert_program_delivered(srv, run, "getpeername length 16, as the kernel's",
                             "getpeername bytes as the kernel's")
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_getsockname_is_sensible(family, run_program, start_server, trap25):
    # inet6: an AF_INET6 socket dialling mail.test v4-mapped
    srv = start_server("implicit")
    run = run_program("getsockname_is_sensible", srv, family)
    version = "IPv4" if family == "inet" else "IPv6"
    assert_program_delivered(srv, run, f"getsockname: loopback {version}, non-zero port")
    assert_nothing_stored(trap25)


def test_connect_from_signal_handler_inside_a_hook_does_not_hang(run_program, start_server,
                                                                  trap25):
    # no hook holds a lock that a handler's connect() on the same thread waits for
    srv = start_server("implicit")
    run = run_program("connect_from_signal_handler", srv, "20")
    assert_program_delivered(srv, run)
    assert any("connects from a signal handler" in f for f in run.oks), run.describe()
    assert_nothing_stored(trap25)
