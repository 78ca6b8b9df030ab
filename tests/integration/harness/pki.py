"""Test certificates, made with the openssl CLI.

Everything here is throw-away key material for a private test CA; it lives in
a pytest tmp dir and only ever serves 127.0.0.1 inside tests/netns-run.
"""
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Own config so the system openssl.cnf (which adds CA:TRUE to every
# `req -x509`) cannot leak into leaf certificates.
_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class CertKey:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    ca_file: Path           # bundle to pass as --ca-file: trusts the test CA only
    mail: CertKey           # mail.test, other.test, 127.0.0.1 -- signed by the test CA
    wrong: CertKey          # wrong.test only -- signed by the test CA
    untrusted: CertKey      # mail.test etc. -- signed by a CA nobody trusts
    untrusted_ca_file: Path


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _issue(d: Path, name: str, subject: str, ext: str, *,
           issuer: CertKey | None = None, san: str | None = None) -> CertKey:
    pair = CertKey(d / f"{name}.pem", d / f"{name}.key")
    args = ["req", "-x509", "-config", "openssl.cnf", "-extensions", ext,
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc",
            "-days", "7", "-subj", subject,
            "-keyout", pair.key.name, "-out", pair.cert.name]
    if issuer:
        args += ["-CA", str(issuer.cert), "-CAkey", str(issuer.key)]
    if san:
        args += ["-addext", f"subjectAltName={san}"]
    _openssl(*args, cwd=d)
    return pair


def make_pki(d: Path) -> Pki:
    (d / "openssl.cnf").write_text(_CONFIG)
    ca = _issue(d, "ca", "/CN=smtpshim test CA", "ca_ext")
    evil_ca = _issue(d, "untrusted-ca", "/CN=smtpshim untrusted CA", "ca_ext")
    mail_san = "DNS:mail.test,DNS:other.test,IP:127.0.0.1"
    return Pki(
        ca_file=ca.cert,
        mail=_issue(d, "mail", "/CN=mail.test", "leaf_ext", issuer=ca, san=mail_san),
        wrong=_issue(d, "wrong", "/CN=wrong.test", "leaf_ext", issuer=ca,
                     san="DNS:wrong.test"),
        untrusted=_issue(d, "untrusted-mail", "/CN=mail.test", "leaf_ext",
                         issuer=evil_ca, san=mail_san),
        untrusted_ca_file=evil_ca.cert,
    )
