"""make demo: a plain-SMTP client (swaks) under smtpshim delivers to a local
server that speaks only TLS, and the server shows what it received.

Runs inside tests/netns-run, so mail.test resolves to 127.0.0.1 and the demo
servers can take the real ports 465 and 587 without touching the machine.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
from harness.pki import make_pki  # noqa: E402
from harness.server import MailServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MESSAGE = (b"From: cron@client.test\r\nTo: admin@mail.test\r\n"
           b"Subject: nightly report\r\n\r\nAll backups completed.\r\n")


def show(title):
    print(f"\n=== {title}")


def main():
    with tempfile.TemporaryDirectory(prefix="smtpshim-demo-") as tmp:
        tmp = Path(tmp)
        pki = make_pki(tmp)
        (tmp / "message").write_bytes(MESSAGE.removesuffix(b"\r\n"))
        show("a mail server for mail.test that speaks only TLS: 465 (implicit) and 587 (STARTTLS)")
        servers = [MailServer("implicit", pki.mail, port=465).start(),
                   MailServer("starttls", pki.mail, port=587).start()]
        try:
            client = ["swaks", "--server", "mail.test:25", "--helo", "client.test",
                      "--from", "cron@client.test", "--to", "admin@mail.test",
                      "--data", f"@{tmp / 'message'}"]
            for mode in ("tls", "starttls"):
                show(f"swaks speaks plain SMTP to mail.test:25; smtpshim --mode {mode} "
                     "carries it (relay log on stderr, -v)")
                cmd = [str(REPO / "tools" / "smtpshim"), "-v", "--mode", mode,
                       "--ca-file", str(pki.ca_file), "--allow-loopback", "--", *client]
                print("$", " ".join(cmd[:7]), "-- swaks --server mail.test:25 ...")
                # SMTPSHIM_CONFIG="": no config file of the user's changes the demo
                done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, timeout=60,
                                      env={**os.environ, "SMTPSHIM_CONFIG": ""})
                print(done.stdout.rstrip())
                if done.returncode != 0:
                    sys.exit(f"demo failed: swaks exited {done.returncode}")
            show("what the server stored")
            for srv in servers:
                for m in srv.received():
                    same = "identical to what swaks sent" if m.content == MESSAGE else "DIFFERENT"
                    print(f"port {srv.port}: from {m.mail_from} to {', '.join(m.rcpt_tos)} "
                          f"over {m.tls_version}, {len(m.content)} bytes, {same}")
            if sum(len(s.received()) for s in servers) != 2:
                sys.exit("demo failed: expected two messages")
        finally:
            for srv in servers:
                srv.stop()
    print("\nBoth messages arrived over verified TLS; swaks never knew.")


if __name__ == "__main__":
    main()
