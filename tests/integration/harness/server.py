"""In-process SMTP servers (aiosmtpd) that record what they receive.

Each MailServer runs its own asyncio loop in a daemon thread so tests can start
several (e.g. 465 and 587 at once) and stop them deterministically.
"""
import asyncio
import base64
import json
import ssl
import threading
from dataclasses import dataclass

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

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
    auth_user: str | None = None  # who authenticated (servers with users=)
    auth_mech: str | None = None  # and with which mechanism
    sni: str | None = None        # the server name the client asked for in TLS


class _Recorder:
    def __init__(self, sink):
        self._sink = sink

    async def handle_DATA(self, server, session, envelope):
        # session.ssl is only set after STARTTLS; the transport knows in both
        # the STARTTLS and the implicit-TLS case.
        sslobj = server.transport.get_extra_info("ssl_object")
        who = session.auth_data if session.authenticated else None
        self._sink(Received(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=bytes(envelope.original_content),
            tls=sslobj is not None,
            tls_version=sslobj.version() if sslobj else None,
            helo=session.host_name,
            auth_user=who[0] if who else None,
            auth_mech=who[1] if who else None,
            sni=getattr(sslobj, "requested_name", None),
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


class _Xoauth2:
    """XOAUTH2 as Gmail and Microsoft 365 do it: the initial response is
    base64("user=U^Aauth=Bearer T^A^A"); a bad token gets a 334 carrying a
    JSON error, the client answers with an empty line, then 535."""

    async def auth_XOAUTH2(self, server, args):
        if len(args) == 2:
            blob = base64.b64decode(args[1])
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        fields = dict(f.split("=", 1) for f in blob.decode().split("\x01") if "=" in f)
        user, auth = fields.get("user", ""), fields.get("auth", "")
        if auth == f"Bearer {self._tokens.get(user, object())}":
            return AuthResult(success=True, auth_data=(user, "XOAUTH2"))
        error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
        await server.challenge_auth(error)      # reads the client's empty line
        return AuthResult(success=False, handled=False)


def _remember_sni(ssl_object, server_name, context):
    # What the client asked for is what it verifies the certificate against.
    ssl_object.requested_name = server_name


class MailServer:
    """SMTP server on host:port (0 = free port) in one of MODES."""

    def __init__(self, mode: str, cert: CertKey | None = None, *,
                 port: int = 0, host: str = "127.0.0.1",
                 starttls_over_tls: bool = False,
                 users: dict | None = None, tokens: dict | None = None,
                 auth_required: bool = False):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode != "plain-no-starttls" and cert is None:
            raise ValueError(f"mode {mode} needs a certificate")
        self.mode, self.host, self.port = mode, host, port
        self._handler_class = _StarttlsOverTls if starttls_over_tls else _Recorder
        # users={"alice": "password"}: PLAIN and LOGIN check these;
        # tokens={"alice": "token"}: XOAUTH2 is offered and checks these.
        self._users, self._tokens = users, tokens
        self._auth_required = auth_required
        if tokens is not None:
            base = self._handler_class
            self._handler_class = type("XoauthRecorder", (_Xoauth2, base), {})
        self.messages: list[Received] = []
        self._sessions = 0      # connections accepted, whatever came of them
        self._lock = threading.Lock()
        self._ctx = None
        if cert is not None:
            self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ctx.load_cert_chain(cert.cert, cert.key)
            self._ctx.sni_callback = _remember_sni
        self._loop = asyncio.new_event_loop()
        self._thread = None
        self._server = None

    def _record(self, msg: Received):
        with self._lock:
            self.messages.append(msg)

    def _authenticate(self, server, session, envelope, mechanism, data):
        # handled=False on failure: otherwise aiosmtpd sends no reply at all
        if isinstance(data, LoginPassword) and self._users is not None:
            user = data.login.decode()
            if self._users.get(user) == data.password.decode():
                return AuthResult(success=True, auth_data=(user, mechanism))
        return AuthResult(success=False, handled=False)

    def _handler(self):
        handler = self._handler_class(self._record)
        handler._tokens = self._tokens or {}
        return handler

    def _factory(self):
        with self._lock:
            self._sessions += 1
        starttls = self.mode == "starttls"
        implicit = self.mode == "implicit"
        extra = {}
        if self._users is not None or self._tokens is not None:
            extra = dict(authenticator=self._authenticate, auth_required=self._auth_required)
        return SMTP(
            self._handler(),
            hostname="mail.test",
            loop=self._loop,
            enable_SMTPUTF8=True,
            # implicit TLS: the listener itself is wrapped, so no STARTTLS offer
            tls_context=self._ctx if starttls else None,
            require_starttls=starttls,
            # aiosmtpd cannot see implicit TLS and would withhold AUTH there;
            # elsewhere it offers AUTH only over TLS, like a real server
            auth_require_tls=not implicit,
            **extra,
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

    def sessions(self) -> int:
        """How many connections reached the server, delivering or not."""
        with self._lock:
            return self._sessions
