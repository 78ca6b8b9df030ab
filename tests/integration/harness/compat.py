"""docs/compatibility.md, written from what a test session actually ran:
which real programs delivered through the shim, how each one connects
(seen with strace, not assumed), and how every test of it ended."""
import re
import subprocess
from collections import defaultdict
from pathlib import Path

from .clients import REPO

DOC = REPO / "docs" / "compatibility.md"

# How to ask each real program for its version; the first line is kept.
VERSION = {
    "swaks": ["swaks", "--version"],
    "smtplib": ["/usr/bin/python3", "-c", "import sys; print('Python', sys.version.split()[0])"],
    "netsmtp": ["perl", "-MNet::SMTP", "-e", "print qq(Net::SMTP $Net::SMTP::VERSION, perl $^V)"],
    "curl": ["curl", "--version"],
    "s-nail": ["s-nail", "-V"],
    "exim4": ["exim4", "--version"],
}
NAMES = {"smtplib": "Python smtplib", "netsmtp": "Perl Net::SMTP"}

outcomes = defaultdict(lambda: defaultdict(int))   # program -> outcome -> count
behaviours = {}                                     # C test program test -> outcome
connects = {}                                       # program -> how it connects
skips = defaultdict(int)                            # why a test was skipped -> how many


def program_of(item):
    if "client" in getattr(item, "funcargs", {}):
        return item.funcargs["client"]
    module = item.module.__name__
    if module == "test_mta_exim":
        return "exim4"
    for prefix in ("test_connect_", "test_process_", "test_arch_"):
        if module.startswith(prefix):
            return "C test program"
    return None


def record(item, report):
    if report.skipped and isinstance(report.longrepr, tuple):
        skips[report.longrepr[2].removeprefix("Skipped: ")] += 1
    program = program_of(item)
    if program is None:
        return
    outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
    outcomes[program][outcome] += 1
    if program == "C test program":
        behaviours[item.name] = outcome


def classify_strace(text: str) -> str:
    """The first TCP connection to port 25 in an strace -f log."""
    for line in text.splitlines():
        if "htons(25)" not in line:
            continue
        family = "IPv6" if "AF_INET6" in line else "IPv4"
        if re.search(r"\bsendto\(|\bsendmsg\(", line) and "MSG_FASTOPEN" in line:
            return f"sendto(MSG_FASTOPEN), {family}"
        if re.search(r"\bconnect\(", line):
            style = "non-blocking" if "EINPROGRESS" in line else "blocking"
            return f"{style} connect(), {family}"
    return "not seen"


def version(program) -> str:
    try:
        out = subprocess.run(VERSION[program], capture_output=True, text=True, timeout=10)
        first = (out.stdout or out.stderr).strip().splitlines()[0]
        return first.split(" (")[0]   # curl and s-nail go on about their build
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def _result(counts) -> str:
    parts = [f"{n} {k}" for k, n in sorted(counts.items())]
    ok = not counts.get("failed")
    return ("works" if ok else "FAILS") + " (" + ", ".join(parts) + ")"


def write():
    if not connects:
        return   # the observation test did not run: keep the file as it is
    rows = ["| program | version | how it connects | result under smtpshim |",
            "|---|---|---|---|"]
    for program in sorted(set(VERSION) & set(outcomes)):
        rows.append(f"| {NAMES.get(program, program)} | {version(program)} | "
                    f"{connects.get(program, 'not observed')} | {_result(outcomes[program])} |")
    lines = ["# Compatibility", "",
             "Written by the integration tests (tests/integration/harness/compat.py) from",
             "what they ran: each program's version as it reports it, how it opens its",
             "SMTP connection as strace saw it, and how the tests that drive it under",
             "smtpshim ended. Do not edit by hand; `make test` rewrites it.", "",
             "## Real programs", "", *rows, ""]
    if behaviours:
        lines += ["## Purpose-written C test programs (tests/programs)", "",
                  "| behaviour | result |", "|---|---|"]
        lines += [f"| {name} | {outcome} |" for name, outcome in sorted(behaviours.items())]
        lines.append("")
    lines += ["## What a machine may lack, and what is then skipped", "",
              "A test that needs what the machine cannot do is skipped with the reason,",
              "and `make test` lists every skip at its end (pytest -rs):", "",
              "| the machine lacks | skipped |", "|---|---|",
              "| 32-bit support in the kernel (`Exec format error`) or gcc-multilib | "
              "the i386 programs and exec chains with one (the i386 shim is still built "
              "and checked with readelf) |",
              "| musl-tools | the musl programs and exec chains with one |",
              "| exim4 (not installable, or another MTA installed) | test_mta_exim.py |",
              "| strace | how programs connect (this table's column) |",
              "| valgrind | test_memory.py |", "",
              "In the run that wrote this file:", ""]
    lines += [f"- {n} skipped: {why}" for why, n in sorted(skips.items())] or ["- nothing skipped"]
    lines += ["", "## Programs the shim cannot reach", "",
              "Statically linked programs and Go programs make their system calls without",
              "the C library's `connect()`; `smtpshim` detects them before running them and",
              "points to `smtpshim listen`, a local SMTP port whose connections are relayed",
              "the same way. Set-user-ID programs ignore an `LD_PRELOAD` path; the",
              "system-wide mode (README.md) reaches them, as the exim4 test shows.", ""]
    DOC.write_text("\n".join(lines))
