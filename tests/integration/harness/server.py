"""In-process SMTP servers (aiosmtpd) that record what they receive.

Each MailServer runs its own asyncio loop in a daemon thread so tests can start
several (e.g. 465 and 587 at once) and stop them deterministically.
"""
import asyncio
import ssl
import threading
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP

from .pki import CertKey

MODES = ("starttls", "implicit", "plain-no-starttls")


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple
    content: bytes           # DATA exactly as transmitted, dot-unstuffed
    tls: bool
    tls_version: str | None  # e.g. "TLSv1.3"
    helo: str | None


class _Recorder:
    def __init__(self, sink):
        self._sink = sink

    async def handle_DATA(self, server, session, envelope):
        # session.ssl is only set after STARTTLS; the transport knows in both
        # the STARTTLS and the implicit-TLS case.
        sslobj = server.transport.get_extra_info("ssl_object")
        self._sink(Received(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=bytes(envelope.original_content),
            tls=sslobj is not None,
            tls_version=sslobj.version() if sslobj else None,
            helo=session.host_name,
        ))
        return "250 2.0.0 Ok: stored"


class _StarttlsOverTls(_Recorder):
    """Keeps offering STARTTLS once TLS is up. RFC 3207 says a server must
    not, so without this a client behind the shim would never see STARTTLS
    after the upgrade, whether or not the shim removes it."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname     # this hook form must do it itself
        if server.transport.get_extra_info("ssl_object") and "250-STARTTLS" not in responses:
            responses.insert(-1, "250-STARTTLS")
        return responses


class MailServer:
    """SMTP server on host:port (0 = free port) in one of MODES."""

    def __init__(self, mode: str, cert: CertKey | None = None, *,
                 port: int = 0, host: str = "127.0.0.1",
                 starttls_over_tls: bool = False):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode != "plain-no-starttls" and cert is None:
            raise ValueError(f"mode {mode} needs a certificate")
        self.mode, self.host, self.port = mode, host, port
        self._handler_class = _StarttlsOverTls if starttls_over_tls else _Recorder
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._ctx = None
        if cert is not None:
            self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ctx.load_cert_chain(cert.cert, cert.key)
        self._loop = asyncio.new_event_loop()
        self._thread = None
        self._server = None

    def _record(self, msg: Received):
        with self._lock:
            self.messages.append(msg)

    def _factory(self):
        starttls = self.mode == "starttls"
        implicit = self.mode == "implicit"
        return SMTP(
            self._handler_class(self._record),
            hostname="mail.test",
            loop=self._loop,
            enable_SMTPUTF8=True,
            # implicit TLS: the listener itself is wrapped, so no STARTTLS offer
            tls_context=self._ctx if starttls else None,
            require_starttls=starttls,
            # aiosmtpd cannot see implicit TLS and would withhold AUTH there;
            # elsewhere it offers AUTH only over TLS, like a real server
            auth_require_tls=not implicit,
        )

    def start(self) -> "MailServer":
        # asyncio sets TCP_NODELAY on accepted TCP sockets itself, so replies
        # are not held back by Nagle.
        ssl_ctx = self._ctx if self.mode == "implicit" else None
        self._server = self._loop.run_until_complete(self._loop.create_server(
            self._factory, self.host, self.port, ssl=ssl_ctx,
            reuse_address=True))
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name=f"smtp-{self.mode}-{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is None:
            return

        async def shutdown():
            self._server.close()
            await self._server.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.messages)
