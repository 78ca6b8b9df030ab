"""A server that greets with an SMTP 421 reply and hangs up.

It imitates what smtpshim sends a client when the upstream fails, so the
baseline tests can show that every client reports such a greeting (text and
non-zero exit status) -- independently of the shim.
"""
import socket
import threading


class Refuser:
    def __init__(self, reply: bytes, *, host: str = "127.0.0.1", port: int = 0):
        self.reply = reply
        self.connections = 0
        self._sock = socket.create_server((host, port))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:     # listening socket closed by stop()
                return
            self.connections += 1
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.sendall(self.reply)
                # Give the client a moment to read the reply before the FIN,
                # and swallow whatever it sends (e.g. QUIT) to avoid an RST.
                conn.settimeout(0.2)
                try:
                    while conn.recv(4096):
                        pass
                except OSError:
                    pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)
