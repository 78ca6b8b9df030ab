"""Where the outside programs and modules the tests use come from.

A machine with packages installed by hand hides a missing install step: a
test passes here and fails on a new machine. So the tests record what they
really use -- every program they start (argv words that are executables),
every Perl module a Perl program they start loads (Smtpshim::LoadedModules
through PERL5OPT), every Python module loaded in the test process -- and
test_install_list.py names the Debian package of each file and requires it
to be one tests/install-deps installs, or one those depend on, or part of
every Debian system (Essential or Priority: required).
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .clients import REPO

INSTALL_DEPS = REPO / "tests" / "install-deps"
PERL_LOG = Path(tempfile.gettempdir()) / f"smtpshim-perl-modules.{os.getpid()}"

_used: dict[str, str] = {}      # file -> the first test that used it
_runner_modules: set[str] = set()   # pytest's own, and what site's .pth files load


def _who() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "the test session").split(" ")[0]


def _record_argv(args):
    words = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
    for w in words:
        w = os.fsdecode(w) if isinstance(w, (bytes, os.PathLike)) else w
        if not isinstance(w, str) or not w or "\n" in w:
            continue
        path = w if w.startswith("/") else (shutil.which(w) if "/" not in w else None)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            _used.setdefault(path, _who())


def start():
    """From now on, record what this process and its Perl children use."""
    _runner_modules.update(sys.modules)
    original = subprocess.Popen._execute_child

    def execute_child(self, args, executable, *rest, **kw):
        _record_argv([executable] if executable else args)
        if not executable and not isinstance(args, (str, bytes)):
            _record_argv(args)
        return original(self, args, executable, *rest, **kw)

    subprocess.Popen._execute_child = execute_child
    PERL_LOG.unlink(missing_ok=True)
    os.environ["SMTPSHIM_TEST_PERL_MODULES"] = str(PERL_LOG)
    perl_lib = str(Path(__file__).parent / "perl")
    os.environ["PERL5LIB"] = ":".join(filter(None, [perl_lib, os.environ.get("PERL5LIB")]))
    os.environ["PERL5OPT"] = " ".join(filter(None, [os.environ.get("PERL5OPT"),
                                                     "-MSmtpshim::LoadedModules"]))


def used() -> dict[str, str]:
    """Every outside file the tests used so far -> who used it first."""
    found = dict(_used)
    if PERL_LOG.exists():
        for line in PERL_LOG.read_text().splitlines():
            found.setdefault(line, "a Perl program the tests ran")
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if f and name not in _runner_modules:
            found.setdefault(f, f"python module {name}")
    ours = (str(REPO), tempfile.gettempdir(), "/var/tmp")
    return {f: who for f, who in found.items() if not os.path.realpath(f).startswith(ours)}


def dpkg_owners() -> dict[str, str]:
    """Every file dpkg knows -> its package."""
    owners = {}
    for lst in Path("/var/lib/dpkg/info").glob("*.list"):
        pkg = lst.stem.split(":")[0]
        for line in lst.read_text(errors="replace").splitlines():
            owners.setdefault(line, pkg)
    return owners


def _spellings(path: str):
    """The names dpkg may know a file by (merged /usr, links, alternatives)."""
    for p in (os.path.realpath(path), os.path.abspath(path)):
        yield p
        for short, full in (("/bin/", "/usr/bin/"), ("/sbin/", "/usr/sbin/"),
                            ("/lib/", "/usr/lib/"), ("/lib32/", "/usr/lib32/"),
                            ("/lib64/", "/usr/lib64/")):
            if p.startswith(full):
                yield short + p[len(full):]
            elif p.startswith(short):
                yield full + p[len(short):]


def owner_of(path: str, owners: dict[str, str]) -> str | None:
    return next((owners[p] for p in _spellings(path) if p in owners), None)


def install_list() -> list[str]:
    return subprocess.run([str(INSTALL_DEPS), "--list"], capture_output=True, text=True,
                          check=True).stdout.split()


def _installed() -> dict[str, dict]:
    fmt = "${Package}\\t${Essential}\\t${Priority}\\t${Provides}\\t${Pre-Depends}, ${Depends}\\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True,
                         check=True).stdout
    pkgs = {}
    for line in out.splitlines():
        name, essential, priority, provides, depends = line.split("\t")
        pkgs[name] = {"base": essential == "yes" or priority == "required",
                      "provides": [p.split()[0] for p in provides.split(",") if p.strip()],
                      "depends": [[alt.split()[0].split(":")[0] for alt in group.split("|")]
                                  for group in depends.split(",") if group.strip()]}
    return pkgs


def install_closure(listed: list[str]) -> set[str]:
    """The installed packages that the list, or every Debian system, brings:
    the list and the Essential/required packages, and all they depend on."""
    pkgs = _installed()
    providers: dict[str, list[str]] = {}
    for name, p in pkgs.items():
        for v in [name, *p["provides"]]:
            providers.setdefault(v, []).append(name)
    todo = [n for n in listed if n in pkgs] + [n for n, p in pkgs.items() if p["base"]]
    seen = set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        for group in pkgs[n]["depends"]:
            for alt in group:
                todo.extend(providers.get(alt, []))
    return seen
