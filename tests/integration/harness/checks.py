"""Assertions shared by the tests: what "delivered intact" and "refused with
a 421" mean, with failure messages that stay readable for 256 KiB messages."""
import re

from .clients import Run
from .server import MailServer

# "421 4.x.x smtpshim: <cause>" as each client prints it, e.g.
#   swaks   <** 421 4.7.0 smtpshim: ...
#   smtplib (421, b'4.7.0 smtpshim: ...')
#   Net::SMTP: 421 4.7.0 smtpshim: ...
_REPLY_421 = re.compile(r"421\D{0,5}4\.\d{1,3}\.\d{1,3} smtpshim: (.*)")


def first_difference(got: bytes, want: bytes) -> str:
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
             min(len(got), len(want)))
    return (f"got {len(got)} bytes, want {len(want)}; first difference at "
            f"offset {n}:\n  got  {got[max(0, n - 40):n + 40]!r}\n"
            f"  want {want[max(0, n - 40):n + 40]!r}")


def assert_delivered(server: MailServer, run: Run, *, tls: bool):
    """Exactly one message, byte-identical, right envelope, (no) TLS as asked."""
    assert run.returncode == 0, run.describe()
    got = server.received()
    assert len(got) == 1, f"server stored {len(got)} messages\n{run.describe()}"
    m = got[0]
    assert (m.mail_from, m.rcpt_tos) == (run.mail_from, run.rcpts)
    # the client's own EHLO reached the server (after STARTTLS, if any)
    assert m.helo == "client.test"
    same = m.content == run.expected
    assert same, first_difference(m.content, run.expected)
    if tls:
        assert m.tls and m.tls_version in ("TLSv1.2", "TLSv1.3"), m.tls_version
    else:
        assert not m.tls, f"expected plaintext, got {m.tls_version}"


def assert_refused(run: Run, *phrases: str):
    """The client failed and printed a 421 smtpshim reply naming the cause."""
    assert run.returncode != 0, run.describe()
    causes = [m.group(1) for m in map(_REPLY_421.search, run.output.splitlines()) if m]
    assert causes, f"no '421 4.x.x smtpshim: ...' reply in the output\n{run.describe()}"
    for phrase in phrases:
        assert any(phrase in c for c in causes), \
            f"{phrase!r} not in the 421 reply {causes}\n{run.describe()}"


def assert_nothing_stored(*servers: MailServer):
    for s in servers:
        got = s.received()
        assert not got, f"{s.mode} server on port {s.port} stored {len(got)} message(s)"
