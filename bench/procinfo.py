"""What /proc says about a running process: memory (KiB), CPU time, and
which processes are relays or relay servers of this network namespace.

The memory figures:
  vm_hwm         peak resident set since the process started (VmHWM)
  rss            resident now: its own pages plus every shared-library page
                 it has touched, counted in full although other processes
                 share them
  pss            rss with each shared page divided by the number of
                 processes mapping it: the process's fair share
  private_dirty  pages only it has and has written (heap, stacks, .data/.bss,
                 relocated library data): what one more such process costs
  private_clean  pages only it maps and has not written (file pages nobody
                 else has mapped)
"""
import os
from pathlib import Path


def _kib_fields(path: Path, names: dict) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in names:
            out[names[key]] = int(rest.split()[0])  # "1234 kB"
    return out


def memory(pid: int) -> dict:
    figures = _kib_fields(Path(f"/proc/{pid}/status"), {"VmHWM": "vm_hwm", "VmRSS": "rss"})
    figures.update(_kib_fields(Path(f"/proc/{pid}/smaps_rollup"), {
        "Pss": "pss", "Private_Dirty": "private_dirty", "Private_Clean": "private_clean"}))
    return figures


def private_dirty_by_mapping(pid: int) -> dict:
    """Private_Dirty KiB per mapped file ([heap], [stack], [anon] for the rest)."""
    out, name = {}, None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not line.endswith("kB"):  # a mapping's first line
            name = os.path.basename(head[5]) if len(head) > 5 else "[anon]"
        elif head[0] == "Private_Dirty:":
            out[name] = out.get(name, 0) + int(head[1])
    return out


def cpu_ms(pid: int) -> float:
    """CPU time the process (all its threads: a relay server's session runs
    on one of its own) has used so far, in ms, from the scheduler's
    nanosecond counts (stat's ticks are 10 ms: too coarse)."""
    return sum(int((t / "schedstat").read_text().split()[0])
               for t in Path(f"/proc/{pid}/task").iterdir()) / 1e6


def pids_here(*comms) -> set:
    """pids of the processes named (comm) one of `comms` in our network
    namespace: only the bench's own, whatever else runs on the machine."""
    ours = os.readlink("/proc/self/ns/net")
    pids = set()
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "comm").read_text().strip() in comms \
                    and os.readlink(d / "ns/net") == ours:
                pids.add(int(d.name))
        except OSError:
            pass  # gone meanwhile
    return pids


def relays_here() -> set:
    """Relays in a session: started for it, or a relay server's spare
    that took it (the spare renames itself then)."""
    return pids_here("smtpshim-relay")


def relay_servers_here() -> set:
    """Relay servers and the spares they forked ahead (tools/relay/server.c,
    spare.c): while any of them lives, the server's socket is there."""
    return pids_here("smtpshim-server", "smtpshim-spare")
