"""The test message every client is asked to send.

It is built to catch a relay that is not byte-transparent: 8-bit UTF-8, lines
that need dot-stuffing (including a lone "."), SMTP verbs inside the body,
trailing white space, a maximum-length line, and ~256 KiB of bulk so the data
spans many TLS records and socket buffers. It avoids what a client would
legitimately rewrite: swaks tokens ("%...%") and backslashes, mbox "From "
lines (s-nail reads it from an mbox), bare CR/LF and over-long lines.
"""
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    mail_from: str
    rcpts: tuple
    data: bytes     # CRLF line endings, ends in CRLF, not dot-stuffed


def _bulk_lines(n: int):
    # Deterministic but varied content, 72 hex chars per line.
    for i in range(n):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        yield f"{i:06d} {digest[:65]}"


def standard_message() -> Message:
    lines = [
        "From: Alice Sender <alice@client.test>",
        "To: Bob <bob@mail.test>",
        "Cc: Carol <carol@other.test>",
        "Subject: smtpshim integration test",
        "Message-ID: <smtpshim-it-1@client.test>",
        "Date: Thu, 01 Jan 2026 00:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Gr\u00fc\u00dfe aus der Testumgebung \u2014 \u00e9t\u00e9, \u65e5\u672c\u8a9e.",
        ".",
        ".leading dot",
        "..two leading dots",
        "QUIT",
        "STARTTLS",
        "250 not a reply",
        "trailing white space   \t",
        "",
        "x" * 998,
        "",
        *_bulk_lines(3500),
        "",
        "end of message",
    ]
    data = "\r\n".join(lines).encode() + b"\r\n"
    return Message("alice@client.test", ("bob@mail.test", "carol@other.test"), data)
