"""Containers made by a test, without a container engine: the place the
recipes of docs/containers.md are proved in.

A Container is the set of namespaces an engine would make: a network of
its own (loopback, and a veth to the test's namespace, which plays the
outside world where the mail server is), a mount namespace whose root is a
tmpfs holding only the "image" the test composed (its /etc, its files)
with this machine's /usr read-only as the image's programs and what the
test mounts in read-only on top, a PID namespace (every process started
in it ends with it), and UTS and IPC namespaces. A second container may
share the first one's network, as a sidecar shares a pod's.

Commands run in it as `docker exec` would run them: through nsenter, in
its root, as the user given, with exactly the environment given
(`env -i`), nothing inherited from the test.
"""
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

# The container's root, made by the container's first process inside its
# new namespaces:  init ROOT IMAGE [SOURCE TARGET]...  A tmpfs for the
# root, the image copied in, /usr bound read-only, each SOURCE bound
# read-only at TARGET, a few devices, its own /proc; then it waits in
# its root until it is killed.
_INIT = r"""
set -eu
root=$1 image=$2
shift 2
mount -t tmpfs -o mode=755 container-root "$root"
cp -a "$image/." "$root/"
mkdir -p "$root/usr" "$root/proc" "$root/dev" "$root/tmp" "$root/run"
chmod 1777 "$root/tmp"
for d in bin lib lib32 lib64 sbin; do
    [ -e "$root/$d" ] || ln -s "usr/$d" "$root/$d"
done
mount --bind -o ro /usr "$root/usr"
while [ $# -gt 0 ]; do
    if [ -d "$1" ]; then
        mkdir -p "$root$2"
    elif [ ! -e "$root$2" ]; then
        mkdir -p "$(dirname "$root$2")"
        : >"$root$2"
    fi
    mount --bind -o ro "$1" "$root$2"
    shift 2
done
for d in null zero random urandom; do
    : >"$root/dev/$d"
    mount --bind "/dev/$d" "$root/dev/$d"
done
mount -t proc proc "$root/proc"
exec chroot "$root" /bin/sh -c 'echo ready; exec sleep infinity'
"""

# What every image's /etc has, as a slim distribution image would: users,
# name look-ups from files first, Perl's socket tables (netbase).
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = "root:x:0:\nnogroup:x:65534:\n"
NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n"
NOBODY = 65534


def image(d: Path, hosts: dict[str, str], files: dict[str, str | Path] | None = None) -> Path:
    """An image directory: the basic /etc, /etc/hosts naming each host of
    `hosts` (name -> address), and `files` (absolute path -> its text, or
    a file to copy); every file root's, mode 644 (755 if it was
    executable), every directory 755."""
    d.mkdir(parents=True)
    d.chmod(0o755)
    etc = {
        "/etc/passwd": PASSWD,
        "/etc/group": GROUP,
        "/etc/nsswitch.conf": NSSWITCH,
        "/etc/hosts": "127.0.0.1\tlocalhost\n" + "".join(
            f"{addr}\t{name}\n" for name, addr in hosts.items()),
        # nothing answers there: every name the image needs is in its hosts
        "/etc/resolv.conf": "nameserver 127.0.0.1\n",
        "/etc/protocols": Path("/etc/protocols").read_text(),
        "/etc/services": Path("/etc/services").read_text(),
    }
    for path, content in {**etc, **(files or {})}.items():
        f = d / path.lstrip("/")
        f.parent.mkdir(parents=True, exist_ok=True)
        for parent in [f.parent, *f.parent.parents]:
            if parent == d:
                break
            parent.chmod(0o755)
        if isinstance(content, Path):
            shutil.copyfile(content, f)
        else:
            f.write_text(content)
        f.chmod(0o755 if isinstance(content, Path) and os.access(content, os.X_OK) else 0o644)
    return d


class Container:
    """A started container; stop() ends every process in it and its veth."""

    def __init__(self, workdir: Path, image_dir: Path, mounts: dict[str, Path],
                 network: "Container | None" = None):
        root = workdir / "root"
        root.mkdir(parents=True)
        cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--uts", "--ipc",
               "--fork", "--kill-child"]
        if network is None:
            cmd.insert(1, "--net")
        else:       # the sidecar's way: another container's network
            cmd = ["nsenter", "-t", str(network.pid), "-n", "--", *cmd]
        cmd += ["sh", "-c", _INIT, "container-init", str(root), str(image_dir)]
        for target, source in mounts.items():
            cmd += [str(source), target]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      start_new_session=True)
        if self._proc.stdout.readline() != b"ready\n":
            self._proc.kill()
            _, err = self._proc.communicate(timeout=10)
            pytest.fail(f"the container did not start:\n$ {' '.join(cmd[:12])} ...\n"
                        f"{err.decode(errors='replace')}")
        # unshare's one child is the container's first process (its pid 1)
        children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children")
        self.pid = int(children.read_text().split()[0])
        if network is None:
            self.ip("link", "set", "lo", "up")

    def ip(self, *args):
        """`ip ARGS` in the container's network namespace."""
        _run(["nsenter", "-t", str(self.pid), "-n", "--", "ip", *args])

    def plug(self, veth: "Veth", inside: str):
        """Moves the inner end of `veth` in as eth0, with address `inside`."""
        _run(["ip", "link", "set", veth.inner, "netns", str(self.pid)])
        self.ip("link", "set", veth.inner, "name", "eth0")
        self.ip("addr", "add", f"{inside}/{veth.prefix}", "dev", "eth0")
        self.ip("link", "set", "eth0", "up")

    def command(self, env: dict[str, str], user: int | None = None) -> list[str]:
        """The words that run a command in the container as `user` (uid and
        gid; None: root) with exactly `env` as its environment."""
        cmd = ["nsenter", "-t", str(self.pid), "-n", "-m", "-p", "-u", "-i", "-r", "-w", "--"]
        if user is not None:
            cmd += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
        return [*cmd, "env", "-i", *(f"{k}={v}" for k, v in env.items())]

    def path(self, inside: str) -> Path:
        """Where a path of the container is, seen from the test."""
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    def stop(self):
        # --kill-child: the container's pid 1 dies with unshare, and every
        # other process of its PID namespace with it
        os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.communicate(timeout=10)


class Veth:
    """A veth pair made in the test's namespace: `name` there, with the
    address `outside` (servers may listen on it at once), and its other
    end waiting to be plugged into a container."""

    def __init__(self, outside: str, prefix: int = 24, name: str = "ct0"):
        self.name, self.inner, self.prefix = name, name + "-in", prefix
        _run(["ip", "link", "add", name, "type", "veth", "peer", "name", self.inner])
        _run(["ip", "addr", "add", f"{outside}/{prefix}", "dev", name])
        _run(["ip", "link", "set", name, "up"])

    def remove(self):
        # also when its other end is in a container, and at once rather
        # than when the kernel gets round to that namespace
        subprocess.run(["ip", "link", "del", self.name], capture_output=True)


def _run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        pytest.fail(f"$ {' '.join(cmd)}\n{p.stderr}")


@pytest.fixture
def containers(tmp_path):
    """containers(image_dir, mounts={TARGET: SOURCE}, network=None) ->
    Container; all stopped at the end of the test, the last made first."""
    made = []

    def start(image_dir, mounts=None, network=None):
        c = Container(tmp_path / f"container{len(made)}", image_dir, mounts or {}, network)
        made.append(c)
        return c

    yield start
    for c in reversed(made):
        c.stop()


# Where docs/containers.md installs smtpshim for a container: a directory
# of its own, which hides nothing of the image when it is mounted in.
PREFIX = "/opt/smtpshim"


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    """smtpshim built for PREFIX and installed with DESTDIR, as the recipe
    does it: the directory to mount at PREFIX.  Built in a copy of the
    tree (`make clean` first there), since the paths PREFIX puts into the
    programs would otherwise rebuild this tree's own."""
    from .clients import REPO
    work = tmp_path_factory.mktemp("install")
    src, dest = work / "src", work / "dest"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(".git", "build"))
    subprocess.run(["make", "-s", "-C", str(src), "clean"], capture_output=True, check=True)
    p = subprocess.run(["make", "-s", "-j2", "-C", str(src), "install", f"DESTDIR={dest}",
                        f"PREFIX={PREFIX}"], capture_output=True, text=True)
    if p.returncode:
        pytest.fail(f"make install PREFIX={PREFIX} failed:\n{p.stdout}{p.stderr}")
    return dest / PREFIX.lstrip("/")
