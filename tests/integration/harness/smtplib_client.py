"""Send one message with Python's smtplib (run by /usr/bin/python3).

usage: smtplib_client.py HOST PORT TLS CA_FILE MAIL_FROM RCPT... < message
TLS is none|starttls|implicit; CA_FILE is only used when TLS is not none.
Errors go to stderr with the server's reply, exit status 1.
"""
import smtplib
import ssl
import sys


def main():
    host, port, tls, ca_file, mail_from, *rcpts = sys.argv[1:]
    data = sys.stdin.buffer.read()
    ctx = ssl.create_default_context(cafile=ca_file) if tls != "none" else None
    if tls == "implicit":
        smtp = smtplib.SMTP_SSL(host, int(port), local_hostname="client.test",
                                timeout=30, context=ctx)
    else:
        smtp = smtplib.SMTP(host, int(port), local_hostname="client.test", timeout=30)
    with smtp:
        if tls == "starttls":
            smtp.starttls(context=ctx)
        refused = smtp.sendmail(mail_from, rcpts, data)
    if refused:
        sys.exit(f"smtplib: recipients refused: {refused}")


if __name__ == "__main__":
    try:
        main()
    except (smtplib.SMTPException, OSError) as e:
        # SMTPConnectError carries the greeting, e.g. (421, b'4.7.0 smtpshim: ...')
        sys.exit(f"smtplib: {type(e).__name__}: {e}")
