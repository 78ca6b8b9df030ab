"""How the bench prints: aligned tables for people, and one `BENCH metric
key=value ...` line per metric for scripts (grep '^BENCH ')."""


def ratio(x, base):
    return None if x is None or not base else x / base


def fmt(v, digits=2):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table(title, header, rows):
    cells = [header] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def summary(metric, **values):
    print(f"BENCH {metric} " + " ".join(f"{k}={fmt(v, 3)}" for k, v in values.items()))


def note(text):
    print(f"  note: {text}")
