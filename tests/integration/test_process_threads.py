"""Threads and early calls: 64 threads connecting at once all deliver; the
first hooked call may come from a thread other than main, or from another
library's constructor before main() (and before the shim's own
constructors may have run)."""
import re

import pytest

from harness.checks import assert_nothing_stored, first_difference
from harness.programs import assert_no_relay_left, assert_program_delivered
# fixtures: programs, message_file, run_program
from harness.programs import message_file, programs, run_program  # noqa: F401

THREADS = 64


@pytest.fixture(scope="module")
def short_message(message, tmp_path_factory):
    """The standard message's first 40 lines (headers, 8-bit text, dot lines,
    the long line): 64 copies of the full 256 KiB would only time aiosmtpd."""
    data = b"".join(message.data.splitlines(keepends=True)[:40])
    path = tmp_path_factory.mktemp("short") / "short.eml"
    path.write_bytes(data)
    return path, data


def threads_deliver(short_message, run_program, srv, *names):
    """Runs threads_64_deliver and checks that each thread's message arrived
    once, over TLS, with the TLS server name the thread itself resolved."""
    path, data = short_message
    run = run_program("threads_64_deliver", srv, str(THREADS), *names[1:],
                      host=names[0], message_path=path, expected=data, timeout=60)
    assert run.returncode == 0 and f"{THREADS} threads delivered" in run.oks, run.describe()
    got = srv.received()
    assert len(got) == THREADS, f"server stored {len(got)} of {THREADS} messages"
    seen, wrong = set(), []
    for m in got:
        head, _, rest = m.content.partition(b"\r\n")
        match = re.fullmatch(rb"X-Thread: (\d\d) (\S+)", head)
        assert match, f"message does not start with X-Thread: {head[:60]!r}"
        n, name = int(match.group(1)), match.group(2).decode()
        seen.add(n)
        assert name == names[n % len(names)], head
        if m.sni != name:
            wrong.append(f"thread {n:02d} resolved {name}, its session was verified "
                         f"against {m.sni}")
        assert rest == data, first_difference(rest, data)
        assert m.tls and (m.mail_from, m.rcpt_tos) == (run.mail_from, run.rcpts), m
    assert seen == set(range(THREADS)), f"missing threads {set(range(THREADS)) - seen}"
    assert not wrong, f"{len(wrong)} of {THREADS} sessions:\n" + "\n".join(sorted(wrong))
    assert_no_relay_left(run)


def test_threads_64_deliver(short_message, run_program, start_server, trap25):
    srv = start_server("implicit")
    threads_deliver(short_message, run_program, srv, "mail.test")
    assert_nothing_stored(trap25)


def test_threads_resolving_two_names_of_one_address_each_verify_their_own(
        short_message, run_program, start_server, trap25):
    # mail.test and other.test both resolve to 127.0.0.1 (tests/netns-run);
    # every thread has resolved before any connects, so each connect()
    # follows another thread's look-up of the other name.
    srv = start_server("implicit")
    threads_deliver(short_message, run_program, srv, "mail.test", "other.test")
    assert_nothing_stored(trap25)


def test_first_call_from_thread(run_program, start_server, trap25):
    srv = start_server("implicit")
    run = run_program("first_call_from_thread", srv)
    assert_program_delivered(srv, run, "first hooked call from a thread, not main")
    assert_nothing_stored(trap25)


@pytest.mark.parametrize("loaded", ["linked", "preloaded"])
def test_connect_from_library_constructor(loaded, programs, message_file, run_program,
                                          start_server, trap25):
    # linked: the library is a DT_NEEDED of the program, so its constructor
    # runs before main(); preloaded: it follows the shim in LD_PRELOAD
    # (smtpshim puts the shim first), so ld.so may run its constructor
    # before the shim's own.
    srv = start_server("implicit")
    lib = programs.build("connect_in_constructor", shared=True)
    env = {"CTOR_HOST": "mail.test", "CTOR_PORT": "25", "CTOR_MESSAGE": str(message_file)}
    if loaded == "linked":
        env["CTOR_PROGRAM"] = "connect_from_library_constructor+linked"
        exe = programs.build("connect_from_library_constructor", tag="linked",
                             link=(f"-L{lib.parent}", "-Wl,--no-as-needed",
                                   "-lconnect_in_constructor", f"-Wl,-rpath,{lib.parent}"))
    else:
        exe = programs.build("connect_from_library_constructor")
        # (the wrapper loads the library too; CTOR_PROGRAM keeps it quiet there)
        env["CTOR_PROGRAM"] = "connect_from_library_constructor"
        env["LD_PRELOAD"] = str(lib)
    run = run_program("connect_from_library_constructor", srv, exe=exe, env=env)
    assert_program_delivered(srv, run, "getpeername in a constructor: 127.0.0.1:25",
                             "constructor delivered before main",
                             "main runs after the constructor delivered")
    assert_nothing_stored(trap25)
