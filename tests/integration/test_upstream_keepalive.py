"""TCP keepalive on the relay's upstream socket, so a session idle behind
a NAT or firewall is noticed when it is gone."""
import os
import subprocess

from harness.clients import PYTHON, SMTPSHIM, shim_args
from harness.raw_client import RAW_CLIENT


def test_upstream_socket_has_tcp_keepalive(pki, start_server, tmp_path, smtpshim):
    srv = start_server("starttls")
    path = tmp_path / "client.py"
    path.write_text(RAW_CLIENT + r'''
say(b"EHLO client.test\r\n")
sys.stdin.readline()        # the test looks at the sockets meanwhile
say(b"QUIT\r\n")
''')
    p = subprocess.Popen([str(SMTPSHIM), *shim_args(pki, mode="starttls", port=srv.port),
                          "--", PYTHON, str(path)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "SMTPSHIM_CONFIG": ""})
    try:
        assert "EHLO -> 250" in p.stdout.readline() + p.stdout.readline(), "no EHLO reply"
        ss = subprocess.run(["ss", "-Htno", "state", "established",
                             f"( dport = :{srv.port} )"],
                            capture_output=True, text=True).stdout
    finally:
        out, err = p.communicate("\n", timeout=20)
    assert ss.strip(), "no connection to the server"
    assert "timer:(keepalive" in ss, ss
