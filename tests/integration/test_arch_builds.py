"""Programs of another ABI under the same smtpshim wrapper: a 32-bit (i386)
program gets the shim's i386 build through glibc's $LIB token, a
musl-linked program gets the musl build through a directory literally named
"$LIB"; the relay stays the one native binary. Each runs the plainest
client and a few of the behaviour programs that go through other hooks
(non-blocking connect, Fast Open, getpeername), and chains of programs of
different ABIs exec one another under one smtpshim.

What this machine cannot run (a kernel without 32-bit support, no musl)
is skipped with the reason; the builds are checked with readelf wherever
the compiler exists, whether or not they can run here."""
import os
import re
import subprocess

import pytest

from harness.checks import assert_delivered, assert_nothing_stored
from harness.clients import REPO
from harness.programs import COMPILERS, assert_no_relay_left, assert_program_delivered
from harness.system_wide import TRIPLET
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401

SHIM_LIB = REPO / "shim" / "lib"
MUSL_TRIPLET = TRIPLET.replace("-gnu", "-musl")

# (program, extra arguments, facts it must report)
PROGRAMS = {
    "client": ("client_delivers", (), ("getpeername: 127.0.0.1:25",)),
    "nonblocking": ("nonblocking_connect", ("poll",), ("poll: writable, SO_ERROR 0",)),
    "sendto-fastopen": ("sendto_fastopen_connects", ("dontwait",), ("getpeername: 127.0.0.1:25",)),
    "getpeername": ("getpeername_is_original_destination", (),
                    ("getpeername on a dup()ed descriptor: 127.0.0.1:25",)),
}


# Where each program's loader finds the shim from smtpshim's one LD_PRELOAD
# value, .../shim/$LIB/libsmtpshim.so; what the build may need; its class.
BUILDS = {
    "native": (SHIM_LIB / TRIPLET / "libsmtpshim.so", {"libc.so.6"}, "ELF64"),
    "i386": (SHIM_LIB.parent / "lib32" / "libsmtpshim.so", {"libc.so.6"}, "ELF32"),
    "musl": (SHIM_LIB.parent / "$LIB" / "libsmtpshim.so", {"libc.so"}, "ELF64"),
}
COMPILER_PACKAGE = {"native": "build-essential", "i386": "gcc-multilib", "musl": "musl-tools"}


def shim_build(variant: str):
    """The shim build a program of `variant` needs, or skip saying what is missing."""
    lib = BUILDS[variant][0]
    if not lib.exists():
        pytest.skip(f"no {variant} build of the shim at {lib} (make builds it when "
                    f"{COMPILER_PACKAGE[variant]} is installed)")
    return lib


def readelf(*args) -> str:
    return subprocess.run(["readelf", *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("variant", sorted(BUILDS))
def test_shim_build_has_its_class_and_needs_only_libc(variant, programs):
    # Checked wherever the compiler works, also where the programs cannot run.
    why = programs.unbuildable(variant)
    if why:
        pytest.skip(f"no {variant} compiler: {why}")
    lib, allowed, cls = BUILDS[variant]
    assert lib.exists(), (f"{lib} was not built although {' '.join(COMPILERS[variant])} "
                          "works here")
    assert f"Class:{' ' * 29}{cls}" in readelf("-h", str(lib)), readelf("-h", str(lib))
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]",
                            readelf("-d", str(lib))))
    assert needed and needed <= allowed, f"{lib} needs {sorted(needed)}, may need {allowed}"
    if variant == "musl":
        musl = SHIM_LIB / MUSL_TRIPLET / "libsmtpshim.so"
        assert os.path.realpath(lib) == os.path.realpath(musl), \
            f"shim/$LIB does not lead to the musl build {musl}"


def elf_class(path) -> int:
    """1 for a 32-bit ELF file, 2 for 64-bit."""
    with open(path, "rb") as f:
        head = f.read(5)
    assert head[:4] == b"\x7fELF", f"{path} is not ELF"
    return head[4]


def interpreter(path) -> bytes:
    data = open(path, "rb").read()
    return b"ld-musl" if b"/ld-musl-" in data else b"ld-linux"


def deliver_as(variant, which, programs, run_program, start_server, trap25):
    lib = shim_build(variant)
    programs.require(variant)
    name, extra, facts = PROGRAMS[which]
    exe = programs.build(name, variant)
    if variant == "i386":
        assert elf_class(exe) == 1 and elf_class(lib) == 1, "not a 32-bit build"
    else:
        assert interpreter(exe) == b"ld-musl", f"{exe} is not musl-linked"
    assert elf_class(REPO / "tools" / "smtpshim-relay") == 2, "the relay must stay native"
    srv = start_server("implicit")
    run = run_program(name, srv, *extra, exe=exe)
    assert_program_delivered(srv, run, *facts)
    if which == "client":
        bits = 32 if variant == "i386" else 64
        assert f"{bits}-bit program" in run.oks, run.describe()
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("which", sorted(PROGRAMS))
def test_i386_client_delivers(which, programs, run_program, start_server, trap25):
    deliver_as("i386", which, programs, run_program, start_server, trap25)


@pytest.mark.parametrize("which", sorted(PROGRAMS))
def test_musl_client_delivers(which, programs, run_program, start_server, trap25):
    deliver_as("musl", which, programs, run_program, start_server, trap25)


# Each chain runs under one smtpshim: the first program delivers, then execs
# the next with the same arguments, which delivers too ("sh" only starts
# the next as its child).  A loader meeting a build that is not its own
# would print an error: none may.
CHAINS = {
    "sh>musl": ("sh", "musl"),
    "musl>native": ("musl", "native"),
    "native>i386": ("native", "i386"),
    "i386>musl": ("i386", "musl"),
}
LOADER_COMPLAINTS = ("ld.so", "cannot be preloaded", "Error loading", "Error relocating",
                     "wrong ELF class")


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_exec_chain_of_abis_each_delivers(chain, programs, run_program, start_server,
                                          trap25, tmp_path):
    steps = CHAINS[chain]
    exes = []
    for variant in steps:
        if variant == "sh":
            continue
        shim_build(variant)
        programs.require(variant)
        exes.append(str(programs.build("client_delivers", variant)))
    if steps[0] == "sh":
        # a glibc shell script that runs the program as its child
        script = tmp_path / "script.sh"
        script.write_text(f'#!/bin/sh\n{exes[0]} "$@"\necho "ok: the script ran to its end"\n')
        script.chmod(0o755)
        exes = [str(script)]
    srv = start_server("implicit")
    run = run_program("client_delivers", srv, *exes[1:], exe=exes[0])
    delivering = [v for v in steps if v != "sh"]
    assert run.returncode == 0 and "FAIL:" not in run.output, run.describe()
    got = srv.received()
    assert len(got) == len(delivering), \
        f"server stored {len(got)} of {len(delivering)} messages\n{run.describe()}"
    for m in got:
        assert m.content == run.expected and m.tls and m.sni == "mail.test", m
    libcs = [line for line in run.oks if line.startswith("C library: ")]
    want = ["C library: musl" if v == "musl" else "C library: glibc" for v in delivering]
    assert libcs == want, f"programs that delivered: {libcs}, expected {want}"
    complaints = [line for line in run.output.splitlines()
                  if any(c in line for c in LOADER_COMPLAINTS)]
    assert not complaints, f"a loader complained: {complaints}\n{run.describe()}"
    assert_nothing_stored(trap25)
    assert_no_relay_left(run)


def test_make_install_gives_each_loader_its_build_from_one_value(tmp_path, programs):
    # the installed value is PREFIX/$LIB/libsmtpshim.so, as the wrapper sets it
    why = programs.unbuildable("musl")
    if why:
        pytest.skip(f"no musl compiler: {why}")
    p = subprocess.run(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={tmp_path}",
                        "PREFIX=/usr/local"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    prefix = tmp_path / "usr" / "local"
    glibc = prefix / "lib" / TRIPLET / "libsmtpshim.so"
    musl = prefix / "$LIB" / "libsmtpshim.so"
    assert "ELF64" in readelf("-h", str(glibc)) and "[libc.so.6]" in readelf("-d", str(glibc))
    assert musl.exists(), f"make install made no {musl} for musl's loader"
    assert os.path.realpath(musl) == str(prefix / "lib" / MUSL_TRIPLET / "libsmtpshim.so")
    assert "[libc.so]" in readelf("-d", str(musl))
