"""Programs of another ABI under the same smtpshim wrapper: a 32-bit (i386)
program gets the shim's i386 build through glibc's $LIB token, a
musl-linked program gets the musl build; the relay stays the one native
binary. Each runs the plainest client and a few of the behaviour programs
that go through other hooks (non-blocking connect, Fast Open, getpeername)."""
import pytest

from harness.checks import assert_nothing_stored
from harness.clients import REPO
from harness.programs import assert_program_delivered
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401

SHIM_LIB = REPO / "shim" / "lib"

# (program, extra arguments, facts it must report)
PROGRAMS = {
    "client": ("client_delivers", (), ("getpeername: 127.0.0.1:25",)),
    "nonblocking": ("nonblocking_connect", ("poll",), ("poll: writable, SO_ERROR 0",)),
    "sendto-fastopen": ("sendto_fastopen_connects", ("dontwait",), ("getpeername: 127.0.0.1:25",)),
    "getpeername": ("getpeername_is_original_destination", (),
                    ("getpeername on a dup()ed descriptor: 127.0.0.1:25",)),
}


def shim_build(variant: str):
    """The shim build a program of `variant` needs, or skip saying what is missing."""
    if variant == "i386":
        lib = SHIM_LIB / "i386-linux-gnu" / "libsmtpshim.so"
        if not lib.exists():
            pytest.skip(f"no i386 build of the shim at {lib} (make builds it when "
                        "gcc-multilib is installed)")
        return lib
    found = sorted(p for p in SHIM_LIB.glob("*musl*/libsmtpshim.so") if p.exists())
    if not found:
        pytest.skip(f"no musl build of the shim under {SHIM_LIB}/*musl*/ (make builds it "
                    "when musl-tools is installed)")
    return found[0]


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
