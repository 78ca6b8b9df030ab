"""A syslog the test owns: a datagram socket at /dev/log, collecting what
glibc's syslog() sends there.

/dev is the machine's devtmpfs, shared by every mount namespace: a socket
made in it would appear on the host. So the fixture mounts a tmpfs over
/dev in the test namespace (tests/netns-run gives the run its own),
mounts every entry of the real /dev back in place (device nodes, the
submounts, links), binds its socket there as /dev/log, and unmounts it
all at the end. Every process of the namespace -- a relay server started
earlier included -- sees the same /dev meanwhile."""
import ctypes
import os
import re
import socket
import tempfile
import threading
import time

import pytest

MS_BIND, MS_REC, MNT_DETACH = 0x1000, 0x4000, 2
_libc = ctypes.CDLL("libc.so.6", use_errno=True)

# glibc: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE"
_RECORD = re.compile(r"<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d (\S+): (.*)", re.S)


def _mount(src, dst, fstype=None, flags=0, data=None):
    if _libc.mount(src and src.encode(), dst.encode(), fstype and fstype.encode(), flags,
                   data and data.encode()) != 0:
        raise OSError(ctypes.get_errno(), f"mount {src} {dst}")


def _umount(path):
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), f"umount {path}")


class SyslogSink:
    def __init__(self, sock):
        self._sock = sock
        self._records = []
        self._lock = threading.Lock()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if not data:
                return  # shut down
            m = _RECORD.fullmatch(data.decode("utf-8", "replace").rstrip("\n"))
            with self._lock:
                self._records.append((int(m[1]), m[2], m[3]) if m else (None, None, data))

    def lines(self, n, wait=10.0):
        """(priority, ident, message) of each record, once n have come (or
        after wait seconds: what came by then)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._lock:
                if n and len(self._records) >= n:
                    break
            time.sleep(0.05)
        with self._lock:
            return list(self._records)


@pytest.fixture
def syslog_sink():
    real = tempfile.mkdtemp(prefix="smtpshim-realdev-")
    _mount("/dev", real, flags=MS_BIND | MS_REC)
    _mount("tmpfs", "/dev", "tmpfs", 0, "mode=755")
    try:
        for name in os.listdir(real):
            src, dst = os.path.join(real, name), os.path.join("/dev", name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
                continue
            if os.path.isdir(src):
                os.mkdir(dst)
            else:
                open(dst, "w").close()
            _mount(src, dst, flags=MS_BIND | MS_REC)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind("/dev/log")
        os.chmod("/dev/log", 0o666)
        yield SyslogSink(sock)
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    finally:
        _umount("/dev")
        _umount(real)
        os.rmdir(real)
