"""A raw SMTP client under smtpshim: a Python script that speaks the
protocol line by line (say() sends bytes as given, bare CRs and LFs
included) and prints each reply as "VERB -> reply", for tests that need
what smtplib will not send."""
import os
import subprocess

from .clients import PYTHON, SMTPSHIM, shim_args

RAW_CLIENT = r'''
import socket, sys
s = socket.create_connection(("mail.test", 25), timeout=20)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode(errors="replace")
        if not line:
            lines.append("(closed)")
            return lines
        lines.append(line.rstrip())
        if line[3:4] != "-":
            return lines
def show(what, r):
    print(what, "->", " | ".join(r), flush=True)
def say(text):
    s.sendall(text)
    r = reply()
    show(text.split(b" ")[0].strip().decode(), r)
    return r
show("greeting", reply())
'''


def run_raw(pki, server, script, *options, tmp_path, env=None, timeout=40, wrapper=()):
    path = tmp_path / "client.py"
    path.write_text(RAW_CLIENT + script)
    proc = subprocess.run([*wrapper, str(SMTPSHIM), *shim_args(pki, mode="starttls",
                                                               port=server.port),
                           *options, "--", PYTHON, str(path)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SMTPSHIM_CONFIG": "",
                               "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})})
    return proc, proc.stdout + proc.stderr
