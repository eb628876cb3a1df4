#!/usr/bin/env python3
"""Turn the guest logs of make bench into results.md and the plot's data.

usage: results.py --out DIR [--tsc-khz N] [--stock-image P] [--patched-image P]
                 KERNEL=LOGDIR...      (KERNEL: stock or patched)

Each LOGDIR holds bench.log (the test port, the BENCH lines of
bench/cma_bench.c), console.log and host-time ("t0 t1 load" of the boot on
the host). The samples of every boot of a kernel are pooled. Writes
DIR/results.md, DIR/data/<series>.dat for bench/plot.gp, and prints a short
summary.
"""
import argparse
import os
import time
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
try:
    from report import splats  # the check's own splat patterns
except ImportError:  # pragma: no cover
    def splats(console):
        return [("BUG/WARNING", l) for l in console.splitlines()
                if re.search(r"\bBUG:|\bWARNING:|\bOops\b|KASAN:", l)]

FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
UPTIME = re.compile(r"^\[\s*(\d+\.\d+)\]")

ALL_ROWS = 0.97     # patched/stock on every row
THP_ROWS = 1.20     # patched/stock on THP CMA rows of 2 MiB and more
THP_MIN_SIZE = 2 << 20
MOVE_COPY = 1.8     # vmsplice-move/vmsplice-copy on the patched kernel ...
MOVE_MIN_SIZE = 1 << 20     # ... for transfers of this size and more
# The same on the THP rows, from one THP on: a move changes one PMD per
# 2 MiB (one slot, one rmap update, one TLB flush of the writer's range)
# where the copy copies the 2 MiB, so the move's cost no longer grows with
# the bytes; 10x leaves room for that fixed work per THP and per call.
MOVE_COPY_THP = 10.0
MOVE_THP_MIN_SIZE = 2 << 20
THP_PAGES = 512     # base pages per THP: vmsplice_move counts pages, vmsplice_move_thp
                    # folios (x86_64, the bench's only architecture)
GIFT_PLAIN = 1.1    # a gift call's time / a plain vmsplice call's, at most
REDUCE_LOOP = 1.3   # PROCESS_VM_REDUCE / readv + userspace loop, on the patched kernel ...
REDUCE_MIN_SIZE = 64 << 10  # ... for vectors of this size and more
REDUCE_OPS = ("sum-f64", "sum-s32", "max-f32", "bxor-u64")   # the rows' kinds: reduce-<op>
DUMP_READV = 2.0    # process_vmsplice + splice / process_vm_readv + write, patched kernel ...
DUMP_MIN_SIZE = 1 << 20     # ... for dumps of this size and more, into either sink
DUMP_SINKS = ("tmpfs", "null")      # the rows' kinds: dump-<sink>
GRANT_PID = 0.97    # through a grant / through a pid, on the patched kernel, every row
GRANT_OPS = ("readv", "writev")     # the rows' kinds: grant-<op>
# The ways of a dump row, by the prefix of their fields on the BENCH line.
DUMP_WAYS = (("vmsplice", ""), ("readv", "readv_"), ("mem", "mem_"))
DUMP_LABELS = {"vmsplice": "process_vmsplice + splice", "readv": "process_vm_readv + write",
               "mem": "/proc/PID/mem pread + write"}
VMSPLICE_KINDS = ("vmsplice-move", "vmsplice-copy", "pipe", "vmsplice-readv")
# The THP rows' kinds (no pipe: write() and read() copy, whatever the pages).
VMSPLICE_THP_KINDS = ("vmsplice-move", "vmsplice-copy", "vmsplice-readv")
CALL_KINDS = ("gift-call", "plain-call")
# Summed over the samples of the boots of a kernel (see vmsplice_counts()).
COUNT_FIELDS = ("calls", "wcalls", "rcalls", "transfers", "xfer_total", "moved_total",
                "fallback_total", "thp_moved_total", "tlb_remote", "tlb_all", "tlb_one")


def fields(line):
    return {k: v.strip('"') for k, v in FIELD.findall(line)}


def human(size):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= div:
            return f"{size // div} {unit}"
    return f"{size} B"


def series_name(kind, pages, iov):
    if kind in ("readv", "writev"):
        return f"{kind}-{pages}-iov{iov}"
    return f"{kind}-{pages}"


# Rows whose label does not depend on the page kind or the iovecs.
LABELS = {
    "shm": "shm double copy (floor)",
    "vmsplice-move": "vmsplice gift+move -> vmsplice move",
    "vmsplice-copy": "vmsplice -> vmsplice (copy)",
    "pipe": "pipe write -> read",
    "vmsplice-readv": "process_vm_readv (one copy, no pipe)",
    "gift-call": "writer: vmsplice(GIFT|MOVE) call",
    "plain-call": "writer: vmsplice() call",
}


def label(kind, pages, iov):
    if kind == "memcpy":
        return f"memcpy, {pages} pages (ceiling)"
    if kind in VMSPLICE_KINDS and pages == "thp":
        return LABELS[kind] + ", THP"
    if kind in LABELS:
        return LABELS[kind]
    return f"process_vm_{kind}, {pages}, {iov} iov"


ORDER = {"readv": 0, "writev": 1, "memcpy": 2, "shm": 3,
         "vmsplice-move": 4, "vmsplice-copy": 5, "pipe": 6, "vmsplice-readv": 7,
         "plain-call": 8, "gift-call": 9}


def parse_boot(kernel, logdir):
    boot = {"kernel": kernel, "dir": logdir, "rows": {}, "thp": [], "info": {},
            "clocksource": "?", "errors": [], "reduce": {}, "reduce_skips": [],
            "reduce_info": None, "dump": {}, "dump_skips": [], "dump_info": [],
            "grant": {}, "grant_skips": [], "grant_info": None}
    text = open(os.path.join(logdir, "bench.log"), errors="replace").read()
    for line in text.splitlines():
        if line.startswith("BENCH "):
            f = fields(line)
            if f["kind"].startswith("reduce-"):
                # PROCESS_VM_REDUCE against readv + loop: a table of its own.
                boot["reduce"][(f["kind"][len("reduce-"):], int(f["size"]))] = f
                continue
            if f["kind"].startswith("dump-"):
                # A stopped process dumped three ways: a table of its own.
                boot["dump"][(f["kind"][len("dump-"):], int(f["size"]))] = f
                continue
            if f["kind"].startswith("grant-"):
                # Through a grant against through a pid: a table of its own.
                boot["grant"][(f["kind"][len("grant-"):], f["pages"], int(f["iov"]),
                               int(f["size"]))] = f
                continue
            key = (f["kind"], f["pages"], int(f["iov"]), int(f["size"]))
            boot["rows"][key] = {"samples": [float(x) for x in f["samples"].split(",")],
                                 "thp": f.get("thp", "-"), "fields": f}
        elif line.startswith("BENCH-INFO"):
            boot["info"] = fields(line)
            boot["clocksource"] = boot["info"].get("clocksource", "?")
        elif line.startswith("BENCH-SKIP"):
            f = fields(line)
            kind = f.get("kind", "")
            boot["dump_skips" if kind.startswith("dump") else
                 "grant_skips" if kind.startswith("grant") else "reduce_skips"].append(f)
        elif line.startswith("BENCH-DUMP"):
            boot["dump_info"].append(fields(line))
        elif line.startswith("BENCH-REDUCE"):
            boot["reduce_info"] = fields(line)
        elif line.startswith("BENCH-GRANT"):
            boot["grant_info"] = fields(line)
        elif line.startswith("BENCH-THP"):
            boot["thp"].append(line[len("BENCH-THP "):])
        elif line.startswith("BENCH-ERROR"):
            boot["errors"].append(line)
        elif line.startswith("BENCH-DONE"):
            boot["elapsed"] = line.split("=", 1)[1]
    console = ""
    path = os.path.join(logdir, "console.log")
    if os.path.exists(path):
        console = open(path, errors="replace").read().replace("\r", "")
    boot["splats"] = splats(console)
    stamps = [float(m.group(1)) for m in map(UPTIME.match, console.splitlines()) if m]
    boot["uptime"] = stamps[-1] if stamps else None
    try:
        t0, t1, load = open(os.path.join(logdir, "host-time")).read().split()
        boot["wall"], boot["load"] = float(t1) - float(t0), load
    except (OSError, ValueError):
        boot["wall"], boot["load"] = None, "?"
    return boot


def stats(samples):
    return min(samples), statistics.median(samples), max(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tsc-khz")
    ap.add_argument("--stock-image", default="?")
    ap.add_argument("--patched-image", default="?")
    ap.add_argument("--command", default="make bench",
                    help="the command line that produced the run, for the record")
    ap.add_argument("--cpu", default="?", help="the guest CPU (QEMU -cpu)")
    ap.add_argument("--seed", default="?", help="the seed of the boot order")
    ap.add_argument("runs", nargs="+", help="stock=LOGDIR or patched=LOGDIR")
    args = ap.parse_args()

    boots = [parse_boot(*r.split("=", 1)) for r in args.runs]
    pooled = {"stock": {}, "patched": {}}
    thp_state = {}
    vfields = {"stock": {}, "patched": {}}
    for b in boots:
        for key, row in b["rows"].items():
            pooled[b["kernel"]].setdefault(key, []).extend(row["samples"])
            if key[0] in VMSPLICE_KINDS:
                vfields[b["kernel"]].setdefault(key, []).append(row["fields"])
            if row["thp"] not in ("-", "ok"):
                thp_state.setdefault(key, set()).add(f"{b['kernel']}: {row['thp']}")

    keys = sorted(set(pooled["stock"]) | set(pooled["patched"]),
                  key=lambda k: (ORDER[k[0]], k[1], k[2], k[3]))
    results = []
    for key in keys:
        kind, pages, iov, size = key
        s, p = pooled["stock"].get(key), pooled["patched"].get(key)
        r = {"key": key, "stock": stats(s) if s else None, "patched": stats(p) if p else None}
        r["ratio"] = r["patched"][1] / r["stock"][1] if s and p else None
        # Best against best: host load only ever slows a sample down, so this
        # one is the least sensitive to a busy host.
        r["best"] = r["patched"][2] / r["stock"][2] if s and p else None
        cma = kind in ("readv", "writev")
        r["target"] = THP_ROWS if cma and pages == "thp" and size >= THP_MIN_SIZE else ALL_ROWS
        if r["ratio"] is None:
            r["verdict"] = "missing"
        elif r["ratio"] >= r["target"]:
            r["verdict"] = "ok"
        else:
            # Below target: say whether the two kernels' ranges even separate.
            overlap = r["patched"][2] >= r["stock"][0]
            r["verdict"] = "MISS (ranges overlap)" if overlap else "MISS"
        if key in thp_state:
            r["verdict"] += "; THP " + ", ".join(sorted(thp_state[key]))
        results.append(r)

    vrows = vmsplice_table(results, vfields)
    trows = vmsplice_thp_table(boots, results, vfields)
    grows = gift_table(results)
    rrows = reduce_table(boots)
    drows = dump_table(boots)
    arows = grant_table(boots)  # access by grant
    write_markdown(args, boots, results, vrows, trows, grows, rrows, drows, arows)
    write_data(args.out, results, vrows, trows, rrows, drows)
    summary(args, boots, results, vrows, trows, grows, rrows, drows, arows)


def gift_table(results):
    """One row per size: the writer's time per call, gift against plain."""
    med = {}
    for r in results:
        for kernel in ("stock", "patched"):
            if r["key"][0] in CALL_KINDS and r[kernel]:
                # MB/s -> microseconds per call of r["key"][3] bytes
                med[(kernel, r["key"][0], r["key"][3])] = r["key"][3] / r[kernel][1]
    rows = []
    for size in sorted({k[2] for k in med}):
        g = {"size": size}
        for kernel in ("stock", "patched"):
            for kind in CALL_KINDS:
                g[(kernel, kind)] = med.get((kernel, kind, size))
        x, y = g[("patched", "gift-call")], g[("patched", "plain-call")]
        g["gift_plain"] = x / y if x and y else None
        x, y = g[("stock", "gift-call")], g[("stock", "plain-call")]
        g["stock_gift_plain"] = x / y if x and y else None
        if g["gift_plain"] is None:
            g["verdict"] = "missing"
        elif g["gift_plain"] <= GIFT_PLAIN:
            g["verdict"] = "ok"
        else:
            g["verdict"] = f"MISS (gift/plain {g['gift_plain']:.2f} > {GIFT_PLAIN:g})"
        rows.append(g)
    return rows


def samples_of(f, key):
    v = f.get(key, "n/a")
    return [] if v == "n/a" else [float(x) for x in v.split(",")]


def pool_pairs(boots, kind, other, other_field):
    """The paired rows of one kind (a way and the way it is compared with, in
    alternating pairs in each boot of the patched kernel), samples pooled
    over the boots: per row key, the kind's samples, the other way's, the
    per-pair ratios and the rows' lines."""
    pooled = {}
    for b in boots:
        if b["kernel"] != "patched":
            continue
        for key, f in b[kind].items():
            p = pooled.setdefault(key, {kind: [], other: [], "pairs": [], "lines": []})
            p[kind] += samples_of(f, "samples")
            p[other] += samples_of(f, other_field)
            p["pairs"] += samples_of(f, "ratio_samples")
            p["lines"].append(f)
    return pooled


def reduce_table(boots):
    """One row per operation and size: PROCESS_VM_REDUCE against readv into a
    scratch buffer plus a userspace loop, both measured in each boot of the
    patched kernel, samples pooled over the boots."""
    pooled = pool_pairs(boots, "reduce", "loop", "loop_samples")
    order = {op: i for i, op in enumerate(REDUCE_OPS)}
    rows = []
    for key in sorted(pooled, key=lambda k: (order.get(k[0], 99), k[0], k[1])):
        op, size = key
        p = pooled[key]
        r = {"op": op, "size": size,
             "reduce": stats(p["reduce"]) if p["reduce"] else None,
             "loop": stats(p["loop"]) if p["loop"] else None,
             "pairs": stats(p["pairs"]) if p["pairs"] else None}
        r["ratio"] = r["reduce"][1] / r["loop"][1] if r["reduce"] and r["loop"] else None
        r["best"] = r["reduce"][2] / r["loop"][2] if r["reduce"] and r["loop"] else None
        lines = p["lines"]
        r["loops"] = sorted({f.get("loop", "?") for f in lines})
        r["loop_bw"] = {k: statistics.median(float(f[f"loop_{k}"]) for f in lines)
                        for k in ("vector", "scalar") if all(f"loop_{k}" in f for f in lines)}
        r["calls"] = statistics.median(float(f.get("calls", "nan")) for f in lines)
        r["loop_calls"] = statistics.median(float(f.get("loop_calls", "nan")) for f in lines)
        r["chunk"] = sorted({int(f.get("chunk", 0)) for f in lines})
        judge(r, lines, REDUCE_LOOP if size >= REDUCE_MIN_SIZE else None, r["pairs"],
              "no reduce samples (cma_bench_reduce=loop?)")
        rows.append(r)
    return rows


def judge(r, lines, target, pairs, missing):
    """A ratio row's check column (the boots' byte checks) and its verdict
    against target (None: no target at this size); pairs is the
    (min, median, max) of the rounds' ratios, missing the verdict when the
    row has no samples of the new way."""
    checks = [f.get("check", "?") for f in lines]
    r["check"] = (f"ok ({len(checks)} boot{'s' if len(checks) > 1 else ''})"
                  if checks and all(c == "ok" for c in checks) else ", ".join(checks))
    r["target"] = target
    if r["ratio"] is None:
        r["verdict"] = missing
    elif target is None:
        r["verdict"] = "no target"
    elif r["ratio"] >= target:
        r["verdict"] = "ok"
    else:
        r["verdict"] = (f"MISS ({r['ratio']:.2f} < {target:g}; pairs "
                        f"{pairs[0]:.2f}-{pairs[2]:.2f})")


def feature_skip_text(boots, key, kind, rows, stock_why, patched_missing):
    """What the boots that skipped a feature's rows said, one line per kernel."""
    out = []
    for kernel in ("stock", "patched"):
        bs = [b for b in boots if b["kernel"] == kernel]
        skipped = [b for b in bs if any(s.get("kind") == kind for s in b[key])]
        if not skipped:
            continue
        reasons = sorted({s.get("reason", "?") for b in skipped for s in b[key]
                          if s.get("kind") == kind})
        what = f"as expected: {stock_why}" if kernel == "stock" else \
            f"**{patched_missing}: no {rows} rows**"
        out.append(f"{kernel} kernel, {len(skipped)} of {len(bs)} boot(s): {rows} rows "
                   f"skipped ({what}): {'; '.join(reasons)}")
    return out


def reduce_skip_text(boots):
    """The reduce rows' skips, and those of other kinds the reduce probe saw."""
    out = feature_skip_text(boots, "reduce_skips", "reduce", "reduce",
                            "the flag is the series'",
                            "the patched kernel has no PROCESS_VM_REDUCE")
    for b in boots:
        for s in b["reduce_skips"]:
            if s.get("kind") != "reduce":
                out.append(f"boot `{os.path.basename(b['dir'])}`: {s.get('kind')} skipped, "
                           f"probe {s.get('probe', '?')}: {s.get('reason', '?')}")
    return out


def dump_table(boots):
    """One row per sink and size: the three ways of dumping a stopped child,
    samples pooled over the boots of each kernel; the ratios of the patched
    kernel's medians, the readv and /proc/PID/mem ways against stock."""
    pooled = {}
    for b in boots:
        for key, f in b["dump"].items():
            p = pooled.setdefault((b["kernel"], key), {w: [] for w, _ in DUMP_WAYS})
            for w, prefix in DUMP_WAYS:
                p[w] += samples_of(f, prefix + "samples")
            p.setdefault("ratio", []).extend(samples_of(f, "ratio_samples"))
            p.setdefault("mem_ratio", []).extend(samples_of(f, "mem_ratio_samples"))
            p.setdefault("lines", []).append(f)
    order = {k: i for i, k in enumerate(DUMP_SINKS)}
    rows = []
    for key in sorted({k for _, k in pooled}, key=lambda k: (order.get(k[0], 99), k[0], k[1])):
        sink, size = key
        r = {"sink": sink, "size": size}
        lines = []
        for kernel in ("stock", "patched"):
            p = pooled.get((kernel, key), {})
            for w in [w for w, _ in DUMP_WAYS] + ["ratio", "mem_ratio"]:
                r[(kernel, w)] = stats(p[w]) if p.get(w) else None
            lines += p.get("lines", [])
        med = lambda kernel, w: r[(kernel, w)][1] if r[(kernel, w)] else None
        div = lambda x, y: x / y if x and y else None
        r["ratio"] = div(med("patched", "vmsplice"), med("patched", "readv"))
        r["mem_ratio"] = div(med("patched", "mem"), med("patched", "readv"))
        r["readv_ps"] = div(med("patched", "readv"), med("stock", "readv"))
        r["mem_ps"] = div(med("patched", "mem"), med("stock", "mem"))
        r["copies"] = {w: sorted({f.get(prefix + "copies", "?") for f in lines})
                       for w, prefix in DUMP_WAYS}

        def calls(w, prefix):
            v = [float(f[prefix + "calls"]) for f in lines
                 if f.get(prefix + "calls", "n/a") != "n/a"]
            return statistics.median(v) if v else None
        r["calls"] = {w: calls(w, prefix) for w, prefix in DUMP_WAYS}
        judge(r, lines, DUMP_READV if size >= DUMP_MIN_SIZE else None,
              r[("patched", "ratio")], "no process_vmsplice samples")
        rows.append(r)
    return rows


def dump_skip_text(boots):
    """What the boots said about the dump rows' ways, one line per kernel."""
    out = []
    for kernel in ("stock", "patched"):
        bs = [b for b in boots if b["kernel"] == kernel]
        for kind, what in (("dump-vmsplice", "process_vmsplice + splice"),
                           ("dump", "every dump row")):
            skipped = [b for b in bs if any(s.get("kind") == kind for s in b["dump_skips"])]
            if not skipped:
                continue
            reasons = sorted({s.get("reason", "?") for b in skipped for s in b["dump_skips"]
                              if s.get("kind") == kind})
            why = ("as expected: the call is the series'" if kernel == "stock" and
                   kind == "dump-vmsplice" else
                   "**the patched kernel has no process_vmsplice(): no ratios**"
                   if kind == "dump-vmsplice" else "on request")
            out.append(f"{kernel} kernel, {len(skipped)} of {len(bs)} boot(s): {what} "
                       f"skipped ({why}): {'; '.join(reasons)}")
    for b in boots:
        for i in b["dump_info"]:
            if "limit" in i:
                out.append(f"boot `{os.path.basename(b['dir'])}`: dumps up to "
                           f"{i.get('max_mb', '?')} MiB (stopped by: {i.get('limit', '?')}; "
                           f"MemAvailable {i.get('mem_avail_mb', '?')} MiB, sink "
                           f"{i.get('dir', '?')} on {i.get('sinkfs', '?')} with "
                           f"{i.get('sink_free_mb', '?')} MiB free)")
    return out


def grant_table(boots):
    """One row per call, pages, iovecs and size: process_vm_readv/writev
    through a grant against the same call by pid, both measured in each boot
    of the patched kernel (the stock kernel has no grants), samples pooled
    over the boots; "pairs" is the spread of the per-pair grant/pid ratios."""
    pooled = pool_pairs(boots, "grant", "pid", "pid_samples")
    order = {op: i for i, op in enumerate(GRANT_OPS)}
    rows = []
    for key in sorted(pooled, key=lambda k: (order.get(k[0], 99), k[0], k[1], k[2], k[3])):
        op, pages, iov, size = key
        p = pooled[key]
        r = {"op": op, "pages": pages, "iov": iov, "size": size,
             "grant": stats(p["grant"]) if p["grant"] else None,
             "pid": stats(p["pid"]) if p["pid"] else None,
             "pairs": stats(p["pairs"]) if p["pairs"] else None}
        r["ratio"] = r["grant"][1] / r["pid"][1] if r["grant"] and r["pid"] else None
        r["best"] = r["grant"][2] / r["pid"][2] if r["grant"] and r["pid"] else None
        lines = p["lines"]
        judge(r, lines, GRANT_PID, r["pairs"] or (float("nan"),) * 3, "no grant samples")
        # As in the first table: a THP row whose buffers were not all THP
        # measures something else; say so in the verdict.
        r["thp"] = sorted({f.get("thp", "-") for f in lines} - {"-", "ok"})
        if r["thp"]:
            r["verdict"] += "; THP " + ", ".join(r["thp"])
        rows.append(r)
    return rows


def grant_skip_text(boots):
    """What the boots that skipped the grant rows said, one line per kernel."""
    return feature_skip_text(boots, "grant_skips", "grant", "grant",
                             "the call is the series'",
                             "the patched kernel has no process_vm_grant()")


def vmsplice_counts(lines):
    """Sum the counts of the BENCH lines of one row over the boots of a
    kernel: totals, with None for a counter some boot did not have."""
    tot = dict.fromkeys(COUNT_FIELDS, 0)
    refill = []
    for f in lines:
        calls = int(f["calls"])
        for k in COUNT_FIELDS:
            v = f.get(k, "n/a")
            if tot[k] is None or v == "n/a":
                tot[k] = None
            elif k.startswith("tlb_"):
                tot[k] += round(float(v) * calls)    # per call on the line
            else:
                tot[k] += int(v)
        refill.append(float(f["refill_med"]))
    tot["refill"] = statistics.median(refill) if refill else None
    return tot


def per_call(tot, k):
    if not tot or tot[k] is None or not tot["calls"]:
        return None
    return tot[k] / tot["calls"]


def vmsplice_table(results, vfields):
    """One row per size: move against copy and pipe on the patched kernel
    (the 4k rows; the THP rows have vmsplice_thp_table())."""
    med = {}
    for r in results:
        for kernel in ("stock", "patched"):
            if r["key"][0] in VMSPLICE_KINDS and r["key"][1] == "4k" and r[kernel]:
                med[(kernel, r["key"][0], r["key"][3])] = r[kernel][1]
    sizes = sorted({k[2] for k in med})
    rows = []
    for size in sizes:
        key = lambda kind: (kind, "4k", 1, size)
        v = {"size": size}
        for kernel in ("stock", "patched"):
            for kind in VMSPLICE_KINDS:
                v[(kernel, kind)] = med.get((kernel, kind, size))
                lines = vfields[kernel].get(key(kind))
                v[(kernel, kind, "counts")] = vmsplice_counts(lines) if lines else None

        def ratio(kernel, a, b, refill=False):
            if refill:
                ca, cb = v[(kernel, a, "counts")], v[(kernel, b, "counts")]
                x, y = ca and ca["refill"], cb and cb["refill"]
            else:
                x, y = v[(kernel, a)], v[(kernel, b)]
            return x / y if x and y else None
        v["move_copy"] = ratio("patched", "vmsplice-move", "vmsplice-copy")
        v["move_pipe"] = ratio("patched", "vmsplice-move", "pipe")
        v["move_copy_refill"] = ratio("patched", "vmsplice-move", "vmsplice-copy", True)
        v["stock_move_copy"] = ratio("stock", "vmsplice-move", "vmsplice-copy")
        v["move_readv"] = ratio("patched", "vmsplice-move", "vmsplice-readv")
        c = v[("patched", "vmsplice-move", "counts")]
        if size < MOVE_MIN_SIZE:
            v["verdict"] = "no target"
        elif v["move_copy"] is None or c is None:
            v["verdict"] = "missing"
        else:
            why = []
            if v["move_copy"] < MOVE_COPY:
                why.append(f"move/copy {v['move_copy']:.2f} < {MOVE_COPY:g}")
            why += move_misses(c)
            v["verdict"] = "ok" if not why else "MISS (" + "; ".join(why) + ")"
        rows.append(v)
    return rows


def tlb_cell(c):
    """The TLB flush counts per call of a vmsplice row: remote, all, one."""
    return ", ".join(opt(per_call(c, k), "{:.2f}") for k in ("tlb_remote", "tlb_all", "tlb_one"))


def move_misses(c, thp=False):
    """What the summed counts of a move row say went wrong: a page that fell
    back to a copy, one not moved, and on the THP rows one not moved as part
    of a whole THP (vmsplice_move_thp counts folios, the others pages)."""
    if c["moved_total"] is None or c["fallback_total"] is None:
        return ["no vmsplice_move counters: not the patched kernel?"]
    if thp and c["thp_moved_total"] is None:
        return ["no vmsplice_move_thp counter: not the patched kernel?"]
    why = []
    if c["fallback_total"]:
        why.append(f"{c['fallback_total']} pages fell back to a copy")
    if c["moved_total"] != c["xfer_total"]:
        why.append(f"moved {c['moved_total']} of {c['xfer_total']} pages")
    if thp and c["thp_moved_total"] * THP_PAGES != c["xfer_total"]:
        why.append(f"{c['thp_moved_total']} of {c['xfer_total'] // THP_PAGES} "
                   "THPs moved whole")
    return why


def paired_ratios(boots, a, b):
    """Sample i of row a over sample i of row b, boot by boot, on the patched
    kernel: the spread of the ratio, as (min, median, max). The two rows run
    one after the other, not interleaved as the reduce and dump rows' pairs
    are: boot-to-boot drift shows in it, drift within a row does not cancel."""
    out = []
    for bt in boots:
        x, y = bt["rows"].get(a), bt["rows"].get(b)
        if bt["kernel"] == "patched" and x and y:
            out += [p / q for p, q in zip(x["samples"], y["samples"]) if q]
    return stats(out) if out else None


def vmsplice_thp_table(boots, results, vfields):
    """One row per size of the THP rows (2 MiB aligned, THP-backed buffers on
    both sides, the whole transfer per call): whole THPs moved against the
    copy and process_vm_readv on the patched kernel, and the counts that
    say whether every THP moved with one PMD."""
    med = {}
    for r in results:
        kind, pages, _, size = r["key"]
        for kernel in ("stock", "patched"):
            if kind in VMSPLICE_THP_KINDS and pages == "thp" and r[kernel]:
                med[(kernel, kind, size)] = r[kernel][1]
    rows = []
    for size in sorted({k[2] for k in med}):
        key = lambda kind: (kind, "thp", 1, size)
        v = {"size": size}
        for kernel in ("stock", "patched"):
            for kind in VMSPLICE_THP_KINDS:
                v[(kernel, kind)] = med.get((kernel, kind, size))
                lines = vfields[kernel].get(key(kind))
                v[(kernel, kind, "lines")] = lines or []
                v[(kernel, kind, "counts")] = vmsplice_counts(lines) if lines else None
        div = lambda x, y: x / y if x and y else None
        refill = lambda kernel, kind: (v[(kernel, kind, "counts")] or {}).get("refill")
        v["ratio"] = div(v[("patched", "vmsplice-move")], v[("patched", "vmsplice-copy")])
        v["move_readv"] = div(v[("patched", "vmsplice-move")], v[("patched", "vmsplice-readv")])
        v["move_copy_refill"] = div(refill("patched", "vmsplice-move"),
                                    refill("patched", "vmsplice-copy"))
        v["stock_move_copy"] = div(v[("stock", "vmsplice-move")], v[("stock", "vmsplice-copy")])
        v["pairs"] = paired_ratios(boots, key("vmsplice-move"), key("vmsplice-copy"))
        v["readv_pairs"] = paired_ratios(boots, key("vmsplice-move"), key("vmsplice-readv"))
        lines = v[("patched", "vmsplice-move", "lines")]
        judge(v, lines, MOVE_COPY_THP if size >= MOVE_THP_MIN_SIZE else None,
              v["pairs"] or (float("nan"),) * 3, "missing")
        # Beyond the ratio: every page moved, as whole THPs, from and into
        # THP-backed buffers (else the ratio measures something else).
        c = v[("patched", "vmsplice-move", "counts")]
        why = move_misses(c, thp=True) if c is not None else []
        bad = sorted({f"{kind} {f.get('thp', '?')}" for kind in VMSPLICE_THP_KINDS
                      for f in v[("patched", kind, "lines")] if f.get("thp") != "ok"})
        if bad:
            why.append("THP " + ", ".join(bad))
        v["thp"] = bad
        if why and v["target"] is not None and v["ratio"] is not None:
            v["verdict"] = ("MISS (" if v["verdict"] == "ok" else v["verdict"][:-1] + "; ") + \
                "; ".join(why) + ")"
        rows.append(v)
    return rows


def fmt(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def opt(x, f="{:.2f}"):
    return "n/a" if x is None else f.format(x)


def write_markdown(args, boots, results, vrows, trows, grows, rrows, drows, arows):
    md = []
    md.append("# crossmem benchmark: stock vs patched\n")
    md.append("Bandwidth in MB/s (10^6 bytes/s), median of all samples of all boots "
              "of a kernel; min-max beside. Timings under QEMU TCG are only "
              "meaningful as ratios within one run.\n")
    md.append(f"Generated by `{args.command}` (scripts/bench.sh, bench/results.py) "
              f"on {time.strftime('%Y-%m-%d', time.gmtime())}; guest CPU `-cpu {args.cpu}`; "
              f"boots in the order listed (drawn at random per round, seed {args.seed}).\n")
    md.append(f"- stock kernel: `{args.stock_image}`")
    md.append(f"- patched kernel: `{args.patched_image}`")
    if args.tsc_khz:
        md.append(f"- guest clock: host TSC {args.tsc_khz} kHz passed as "
                  f"`tsc_early_khz={args.tsc_khz} tsc=reliable clocksource=tsc`")
    for b in boots:
        info = b["info"]
        clock = ""
        if b["uptime"] and b["wall"]:
            clock = (f", guest uptime {b['uptime']:.1f} s vs host wall "
                     f"{b['wall']:.1f} s")
        md.append(f"- boot `{os.path.basename(b['dir'])}`: kernel {info.get('kernel', '?')} "
                  f"`{info.get('version', '?')}`, clocksource **{b['clocksource']}**, "
                  f"cpus {info.get('cpus', '?')}, THP `{info.get('thp_enabled', '?')}`, "
                  f"{info.get('reps', '?')} samples per row, bench {b.get('elapsed', '?')}"
                  f"{clock}, host load {b['load']}"
                  + (f", **{len(b['splats'])} kernel splat(s)**" if b["splats"] else ""))
        for t in b["thp"]:
            md.append(f"  - THP: {t}")
    md.append("")
    md.append("patched/stock is the ratio of the medians, the one the targets "
              "apply to; best/best, the ratio of the two maxima, is the least "
              "sensitive to a busy host (load only ever slows a sample down).\n")
    md.append(f"Targets: patched/stock >= {ALL_ROWS} on every row, >= {THP_ROWS} on the "
              f"THP process_vm_* rows of {human(THP_MIN_SIZE)} and more. "
              "memcpy and shm rows do not involve the patch: their ratio shows the "
              "run's noise.\n")
    md.append("| test | size | stock median | patched median | patched/stock | "
              "stock min-max | patched min-max | best/best | target | verdict |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        kind, pages, iov, size = r["key"]
        s, p = r["stock"], r["patched"]
        md.append("| {} | {} | {} | {} | {} | {} | {} | {} | >= {} | {} |".format(
            label(kind, pages, iov), human(size),
            fmt(s[1]) if s else "-", fmt(p[1]) if p else "-",
            f"{r['ratio']:.3f}" if r["ratio"] else "-",
            f"{fmt(s[0])}-{fmt(s[2])}" if s else "-",
            f"{fmt(p[0])}-{fmt(p[2])}" if p else "-",
            f"{r['best']:.3f}" if r["best"] else "-",
            f"{r['target']:.2f}", r["verdict"]))
    md.append("")
    md.append("Rows: process_vm_readv/writev with the caller measuring and a child owning "
              "the remote buffer; `4k`: every buffer MADV_NOHUGEPAGE, `thp`: every "
              "buffer MADV_HUGEPAGE (checked in smaps, see THP above), remote "
              "buffers 2 MiB aligned, local ones 1 or 3 pages past a 2 MiB "
              "boundary (TCG's direct-mapped software TLB otherwise makes copies "
              "between 2 MiB-aligned buffers up to 15 times slower, differently on "
              "every boot: see bench/cma_bench.c); `1024 iov`: 1024 contiguous iovecs of size/1024 bytes on both "
              "sides. memcpy is the guest's own memcpy of the same size; the shm "
              "double copy is a sender memcpy into a shared mapping and a receiver "
              "memcpy out, handed over through a flag in the shared page. "
              "vmsplice rows (4k pages): a writer process on CPU 0 and a reader on CPU 1 "
              "pass the bytes through one pipe of 1 MiB (F_SETPIPE_SZ), in calls of at most "
              "the pipe's size: `vmsplice gift+move -> vmsplice move` is "
              "vmsplice(SPLICE_F_GIFT|SPLICE_F_MOVE) on the writer and "
              "vmsplice(SPLICE_F_MOVE) on the reader (pages move on the patched kernel, the "
              "reader copies on stock), `vmsplice -> vmsplice (copy)` the same without flags "
              "(the pipe references the writer's pages, the reader copies), `pipe write -> "
              "read` two copies. Time: from the writer's first call to the reader's return "
              "from its last. Before every transfer the writer fills its source with a new "
              "pattern, in all three kinds, outside the timed region (after a move that fill "
              "also faults in fresh pages: see \"incl. refill\" below); the reader checks the "
              "data of the first warm-up and of the last transfer of every row."
              + (" THP vmsplice rows (\", THP\", 2 MiB to 64 MiB): the same kinds but pipe, "
                 "on buffers of their own that start on a 2 MiB boundary and are "
                 "MADV_HUGEPAGE on both sides (the copy kinds' reader writes a few pages "
                 "past it: see their table), and every call passes all that is left of the "
                 "transfer, so that a THP can go whole." if trows else ""))
    if vrows:
        md.append("")
        md.append("## vmsplice on the patched kernel: move vs copy\n")
        md.append(f"Target: for transfers of {human(MOVE_MIN_SIZE)} and more, vmsplice move "
                  f">= {MOVE_COPY:g}x vmsplice copy, and every page moved (no fallback to a "
                  "copy, moved == transferred pages), on the patched kernel.\n")
        md.append("| size | move | copy | pipe | process_vm_readv | move/copy | move/pipe "
                  "| move/readv | move/copy incl. refill "
                  "| pages/call | moved/call | fallback/call | TLB flushes/call remote, all, one "
                  "| stock move/copy | target | verdict |")
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for v in vrows:
            c = v[("patched", "vmsplice-move", "counts")]
            med = lambda kind: fmt(v[("patched", kind)]) if v[("patched", kind)] else "-"
            md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                human(v["size"]), med("vmsplice-move"), med("vmsplice-copy"), med("pipe"),
                med("vmsplice-readv"), opt(v["move_copy"]), opt(v["move_pipe"]),
                opt(v["move_readv"]), opt(v["move_copy_refill"]),
                opt(per_call(c, "xfer_total"), "{:.1f}"),
                opt(per_call(c, "moved_total"), "{:.1f}"),
                opt(per_call(c, "fallback_total"), "{:.1f}"),
                tlb_cell(c),
                opt(v["stock_move_copy"]),
                f">= {MOVE_COPY:g}" if v["size"] >= MOVE_MIN_SIZE else "-", v["verdict"]))
        md.append("")
        md.append("MB/s medians of the patched kernel. Calls: vmsplice() calls (read()/write() for "
                  "pipe) of writer and reader together, over all samples (not the warm-up); "
                  "pages/call, moved/call and fallback/call divide the pages transferred and the "
                  "/proc/vmstat vmsplice_move and vmsplice_move_fallback deltas by them (\"n/a\": "
                  "no such counter). TLB flushes: the nr_tlb_remote_flush, "
                  "nr_tlb_local_flush_all and nr_tlb_local_flush_one deltas per call, a proxy "
                  "for the page table work (they exist with CONFIG_DEBUG_TLBFLUSH only, n/a "
                  "otherwise; global, so they include the rest of the guest). \"incl. "
                  "refill\": the ratio of the medians of bandwidth with the writer's fill of the "
                  "source counted in, which for the move is fresh zeroed pages faulted in "
                  "(what a user that regenerates the data, such as migration refilling guest "
                  "RAM, pays anyway) and for the copy an overwrite of mapped pages. "
                  "stock move/copy: the same flags on stock, which copies both times (~1). "
                  "process_vm_readv: the reader pulls each transfer from the writer with one "
                  "call, no pipe: the single copy a move competes with. Below "
                  f"{human(64 << 10)} per call the reader copies by design (too few pages to "
                  "be worth a move): the 4 KiB row's target is patched/stock >= "
                  f"{ALL_ROWS} in the first table.")
    if trows:
        vmsplice_thp_markdown(md, trows)
    if grows:
        md.append("")
        md.append("## The writer's cost per call: gift against plain vmsplice\n")
        md.append(f"Target: on the patched kernel a vmsplice(SPLICE_F_GIFT|SPLICE_F_MOVE) call "
                  f"takes at most {GIFT_PLAIN:g}x the time of a plain vmsplice() of the same "
                  "pages (the writer only marks the pipe buffers; nothing is unmapped until "
                  "a reader moves them). Microseconds per call, medians; the pipe is "
                  "spliced to /dev/null after each call, outside the timed region.\n")
        md.append("| size | stock plain | stock gift | patched plain | patched gift "
                  "| patched gift/plain | stock gift/plain | target | verdict |")
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for g in grows:
            us = lambda k, kind: opt(g[(k, kind)], "{:.1f}")
            md.append("| {} | {} | {} | {} | {} | {} | {} | <= {:g} | {} |".format(
                human(g["size"]), us("stock", "plain-call"), us("stock", "gift-call"),
                us("patched", "plain-call"), us("patched", "gift-call"),
                opt(g["gift_plain"]), opt(g["stock_gift_plain"]), GIFT_PLAIN, g["verdict"]))
    reduce_markdown(md, boots, rrows)
    dump_markdown(md, boots, drows)
    grant_markdown(md, boots, arows)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def vmsplice_thp_markdown(md, trows):
    md.append("")
    md.append("## vmsplice of whole THPs on the patched kernel: move vs copy\n")
    md.append(f"Target: from {human(MOVE_THP_MIN_SIZE)}, moving whole THPs runs at >= "
              f"{MOVE_COPY_THP:g}x the vmsplice copy (ratio of the medians; a move changes "
              "one PMD per 2 MiB where the copy copies the 2 MiB), every page moved as part "
              f"of a whole THP (vmsplice_move_thp x {THP_PAGES} == pages transferred, no "
              "fallback), and both sides' buffers THP-backed, on the patched kernel.\n")
    md.append("| size | move | copy | process_vm_readv | move/copy | pairs min-median-max "
              "| move/readv | pairs min-median-max | move/copy incl. refill | pages/call "
              "| moved/call | THPs moved/call | fallback/call "
              "| TLB flushes/call remote, all, one | stock move/copy | check | target "
              "| verdict |")
    md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for v in trows:
        c = v[("patched", "vmsplice-move", "counts")]
        med = lambda kind: fmt(v[("patched", kind)]) if v[("patched", kind)] else "-"
        spread = lambda p: f"{p[0]:.2f}-{p[1]:.2f}-{p[2]:.2f}" if p else "-"
        md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} "
                  "| {} | {} | {} |".format(
                      human(v["size"]), med("vmsplice-move"), med("vmsplice-copy"),
                      med("vmsplice-readv"), opt(v["ratio"]), spread(v["pairs"]),
                      opt(v["move_readv"]), spread(v["readv_pairs"]),
                      opt(v["move_copy_refill"]),
                      opt(per_call(c, "xfer_total"), "{:.1f}"),
                      opt(per_call(c, "moved_total"), "{:.1f}"),
                      opt(per_call(c, "thp_moved_total"), "{:.2f}"),
                      opt(per_call(c, "fallback_total"), "{:.1f}"),
                      tlb_cell(c),
                      opt(v["stock_move_copy"]), v["check"],
                      f">= {v['target']:g}" if v["target"] else "-", v["verdict"]))
    offs = sorted({f.get("dst_off", "?") for v in trows for k in ("stock", "patched")
                   for kind in ("vmsplice-copy", "vmsplice-readv")
                   for f in v[(k, kind, "lines")]}, key=str)
    md.append("")
    md.append("MB/s medians of the patched kernel. The writer's source and the reader's "
              "destination start on a 2 MiB boundary of a MADV_HUGEPAGE region (checked in "
              "smaps: thp= on each row, in the first table's verdicts when not ok), the "
              "destination pre-faulted, so that a move replaces a THP of the reader's own, as "
              "in a reused buffer. Each call passes all that is left of the transfer (the "
              "writer's stops when the pipe's 256 slots are full): the patched kernel puts a "
              "gifted THP into the pipe as one 2 MiB buffer and the reader's move maps it "
              f"with one PMD. The copy kinds' reader writes {', '.join(offs) or '?'} pages "
              "past the boundary (dst_off), in the same THP-backed destination: the kernel "
              "reads the writer's THP through its "
              "direct map, 2 MiB aligned, and under TCG a copy between two 2 MiB-aligned "
              "addresses runs into the software TLB's aliasing (see the first table's "
              "rows), which would slow the copy and flatter the move; the move's destination "
              "has to be aligned, so stock's move row, which copies, pays that aliasing "
              "(stock move/copy can read below 1). THPs moved/call: /proc/vmstat "
              "vmsplice_move_thp "
              f"per call (folios; moved/call counts pages, {THP_PAGES} per THP); the other "
              "counts as in the 4k vmsplice table. pairs: sample i of the move row over "
              "sample i of the copy (or process_vm_readv) row of the same patched boot; the "
              "rows run one after the other, not interleaved. check: the move row's data "
              "checks, as in the 4k table.")


def md_skips_or_none(md, skip_lines, rows, none_text):
    """A table's preamble after its target: what the boots that skipped its
    rows said, then a blank line, then @none_text if it has no rows.
    Returns whether the table follows."""
    for line in skip_lines:
        md.append(f"- {line}")
    md.append("")
    if not rows:
        md.append(none_text)
    return bool(rows)


def reduce_markdown(md, boots, rrows):
    md.append("")
    md.append("## PROCESS_VM_REDUCE on the patched kernel: reduce against readv + loop\n")
    md.append(f"Target: from {human(REDUCE_MIN_SIZE)}, reducing with "
              "`process_vm_readv(PROCESS_VM_REDUCE_FLAGS(op, type))` runs at >= "
              f"{REDUCE_LOOP:g}x the bandwidth of `process_vm_readv()` into a scratch "
              "buffer plus a userspace loop (ratio of the medians), both measured in "
              "the same boots of the patched kernel. The stock kernel has no such "
              "flag: its boots probe for it and skip these rows.\n")
    if md_skips_or_none(md, reduce_skip_text(boots), rrows, "No reduce rows in this run."):
        md.append("| operation | size | reduce | readv+loop | reduce/loop | pairs min-median-max "
                  "| reduce min-max | readv+loop min-max | best/best | loop (vector, scalar MB/s "
                  "at 1 MiB) | calls per op (reduce, readv) | check | target | verdict |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|")
        for r in rrows:
            rd, lp, pr = r["reduce"], r["loop"], r["pairs"]
            bw = r["loop_bw"]
            md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                r["op"], human(r["size"]),
                fmt(rd[1]) if rd else "-", fmt(lp[1]) if lp else "-",
                opt(r["ratio"], "{:.3f}"),
                f"{pr[0]:.2f}-{pr[1]:.2f}-{pr[2]:.2f}" if pr else "-",
                f"{fmt(rd[0])}-{fmt(rd[2])}" if rd else "-",
                f"{fmt(lp[0])}-{fmt(lp[2])}" if lp else "-",
                opt(r["best"], "{:.3f}"),
                "{} ({}, {})".format(", ".join(r["loops"]),
                                     opt(bw.get("vector"), "{:.0f}"),
                                     opt(bw.get("scalar"), "{:.0f}")),
                f"{r['calls']:.2f}, {r['loop_calls']:.2f}",
                r["check"], f">= {r['target']:g}" if r["target"] else "-", r["verdict"]))
        md.append("")
        chunk = ", ".join(human(c) for c in rrows[0]["chunk"])
        md.append("MB/s: bytes of the local vector reduced per second, medians of the pooled "
                  "samples of the patched boots (min-max beside). `reduce`: one "
                  "process_vm_readv() with PROCESS_VM_REDUCE_FLAGS(op, type) per operation, the "
                  "kernel computing local = local OP remote. `readv+loop`: process_vm_readv() "
                  f"of the remote vector into a scratch buffer of {chunk} at a time (it stays "
                  "in the cache), each chunk followed by a userspace loop over it; the loop "
                  "is the faster, in that boot, of gcc's vectorised loop (-O3 for the loops "
                  "alone: SSE2, the x86_64 baseline, no -march; the guest CPU is qemu64) and "
                  "its scalar -O2 one (under TCG SSE instructions are emulated helper calls, "
                  "and the scalar loop can win; on hardware the vector one does). MAX on "
                  "floats follows the kernel's rule, (s > d || (isnan(d) && !isnan(s))) ? s : "
                  "d; the vectors mix NaNs on either side and on both, and -0 against +0. The "
                  "samples are taken in pairs, one of each way in alternating order: \"pairs\" "
                  "is the spread of the pairs' reduce/loop ratios, reduce/loop the ratio of "
                  "the medians (the target's), best/best the ratio of the maxima. check: "
                  "once per row and boot, before the samples and outside them, both ways "
                  "start from the same local vector and leave identical bytes (a mismatch "
                  "stops the bench).\n")
    md.append("Structural cost, bytes read or written per byte reduced (what carries "
              "over from the emulator to hardware):\n")
    md.append("| way | remote read | scratch write | scratch read | local read | local write "
              "| bytes touched | process_vm_readv() calls | passes over the data |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    md.append("| reduce (PROCESS_VM_REDUCE) | 1 | - | - | 1 | 1 | **3** | 1 | 1 (kernel) |")
    md.append("| readv + loop | 1 | 1 | 1 | 1 | 1 | **5** | size / chunk | 2 (kernel copy, "
              "user loop) |")
    md.append("")
    md.append("reduce touches 3/5 of the bytes readv+loop does: 1.67x is the bound for a "
              "machine limited by bytes moved. The scratch chunk stays in the cache, so to "
              "memory both ways move 3 bytes per byte (remote, local read, local write); "
              "what the reduce saves is the scratch's write and re-read in the cache, "
              "one pass over the data and the calls of the chunks.")


def dump_markdown(md, boots, drows):
    md.append("")
    md.append("## Dumping a stopped process: process_vmsplice against process_vm_readv "
              "and /proc/PID/mem\n")
    md.append(f"Target: from {human(DUMP_MIN_SIZE)}, into either sink, dumping with "
              "`process_vmsplice()` + `splice()` runs at >= "
              f"{DUMP_READV:g}x the bandwidth of `process_vm_readv()` + `write()` (ratio of "
              "the medians), both measured in the same boots of the patched kernel. The "
              "stock kernel has no process_vmsplice(): its boots probe for it (ENOSYS) and "
              "run the other two ways, whose stock medians are beside the patched ones.\n")
    if not md_skips_or_none(md, dump_skip_text(boots), drows, "No dump rows in this run."):
        return
    md.append("| sink | size | vmsplice+splice | readv+write | /proc/PID/mem | ms per dump "
              "(vmsplice, readv, mem) | vmsplice/readv | pairs min-median-max | mem/readv "
              "| bytes copied per byte (vmsplice, readv, mem) | stock readv+write "
              "| stock /proc/PID/mem | readv, mem patched/stock | calls per dump "
              "(vmsplice, readv, mem) | check | target | verdict |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for r in drows:
        m = lambda k, w: fmt(r[(k, w)][1]) if r[(k, w)] else "-"
        ms = lambda w: (f"{r['size'] / r[('patched', w)][1] / 1e3:.3g}"
                        if r[("patched", w)] else "-")
        pr = r[("patched", "ratio")]
        md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} "
                  "| {} | {} |".format(
                      r["sink"], human(r["size"]), m("patched", "vmsplice"),
                      m("patched", "readv"), m("patched", "mem"),
                      ", ".join(ms(w) for w, _ in DUMP_WAYS),
                      opt(r["ratio"], "{:.3f}"),
                      f"{pr[0]:.2f}-{pr[1]:.2f}-{pr[2]:.2f}" if pr else "-",
                      opt(r["mem_ratio"], "{:.3f}"),
                      ", ".join("/".join(r["copies"][w]) for w, _ in DUMP_WAYS),
                      m("stock", "readv"), m("stock", "mem"),
                      f"{opt(r['readv_ps'])}, {opt(r['mem_ps'])}",
                      ", ".join(opt(r["calls"][w], "{:.1f}") for w, _ in DUMP_WAYS),
                      r["check"], f">= {r['target']:g}" if r["target"] else "-",
                      r["verdict"]))
    md.append("")
    md.append("MB/s: bytes dumped per second, medians of the pooled samples of the patched "
              "boots (stock beside, for the ways it has). A child fills its memory (4 KiB "
              "pages) and stops itself (SIGSTOP); the bench dumps its first `size` bytes, "
              "a pipe's worth (1 MiB) per call. `vmsplice+splice`: process_vmsplice() puts "
              "references to the child's pages into a pipe, splice() moves them into the "
              "sink. `readv+write`: process_vm_readv() into a 1 MiB buffer, write() of it. "
              "`/proc/PID/mem`: pread() of the child's /proc/PID/mem into the buffer, "
              "write(). Sinks: `tmpfs`, a file on tmpfs, truncated after every dump "
              "outside the timed region (each dump allocates its page cache afresh, as a "
              "new image does); `null`, a pipe (what a socket to a page server would be) "
              "that the dumping process empties into /dev/null with splice() after every "
              "call into it, inside the timed region. The samples go round the three "
              "ways, the order turning each round: \"pairs\" is the spread of the rounds' "
              "vmsplice/readv ratios. check: once per row, way and boot, before the "
              "samples, the dump's bytes were read back (the file; the pipe instead of "
              "/dev/null) and compared with the child's pattern.\n")
    md.append("Structural cost, bytes copied per byte dumped (what carries over from the "
              "emulator to hardware):\n")
    md.append("| way | into the tmpfs file | into the pipe (null) |")
    md.append("|---|---:|---:|")
    md.append("| process_vmsplice + splice | **1** (splice() into the page cache) | **0** "
              "(references move from pipe to pipe) |")
    md.append("| process_vm_readv + write | 2 (into the buffer, into the page cache) | 2 "
              "(into the buffer, into the pipe's pages) |")
    md.append("| /proc/PID/mem pread + write | 2 | 2 (as readv) |")
    md.append("")
    md.append("A pipe takes no references from write(): the null sink costs the readv and "
              "/proc/PID/mem ways a copy, as a socket to a page server would, while "
              "splice() passes process_vmsplice()'s page references on. Only a write() "
              "straight into /dev/null would spare that copy, and then the ways would not "
              "share a sink.")


def grant_markdown(md, boots, arows):
    md.append("")
    md.append("## Access by grant: process_vm_readv/writev through a grant against by pid\n")
    md.append(f"Target: on every row, a call through a grant (`process_vm_readv()` or "
              "`process_vm_writev()` of a `process_vm_grant()` fd with `PROCESS_VM_GRANTFD`) "
              f"runs at >= {GRANT_PID:g}x the bandwidth of the same call by pid (the first "
              "table's call: the plain pid, flags 0), ratio of the medians, both measured in "
              "the same boots of the patched kernel: what differs is the access check, "
              "through a grant one fd lookup per call and a search of the grant's ranges per "
              "remote iovec, by pid a pid lookup and the ptrace check per call. The stock kernel has no process_vm_grant(): its boots "
              "probe for it (ENOSYS) and skip these rows.\n")
    if not md_skips_or_none(md, grant_skip_text(boots), arows,
                            "No grant rows in this run: no data."):
        return
    md.append("| call | pages | iovecs | size | grant | pid | grant/pid | pairs min-median-max "
              "| grant min-max | pid min-max | best/best | check | target | verdict |")
    md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for r in arows:
        g, p, pr = r["grant"], r["pid"], r["pairs"]
        md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            f"process_vm_{r['op']}", r["pages"], r["iov"], human(r["size"]),
            fmt(g[1]) if g else "-", fmt(p[1]) if p else "-",
            opt(r["ratio"], "{:.3f}"),
            f"{pr[0]:.2f}-{pr[1]:.2f}-{pr[2]:.2f}" if pr else "-",
            f"{fmt(g[0])}-{fmt(g[2])}" if g else "-",
            f"{fmt(p[0])}-{fmt(p[2])}" if p else "-",
            opt(r["best"], "{:.3f}"), r["check"], f">= {r['target']:g}", r["verdict"]))
    md.append("")
    md.append("MB/s medians of the pooled samples of the patched boots (min-max beside). The "
              "buffers, pages and iovecs are the first table's process_vm_* rows'; the child "
              "that owns the remote buffers makes one grant of both (two ranges of 64 MiB, "
              "read and write) and passes the fd over a socketpair (SCM_RIGHTS). The samples "
              "are taken in pairs, one of each way in alternating order: \"pairs\" is the "
              "spread of the pairs' grant/pid ratios, grant/pid the ratio of the medians "
              "(the target's), best/best the ratio of the maxima. check: once per row and "
              "boot, before the samples, one call through the grant was checked byte for "
              "byte (readv: into a zeroed buffer; writev: another pattern, read back by pid, "
              "then the original written back).")


def reduce_series(rrows):
    return {op: [r for r in rrows if r["op"] == op and r["ratio"] is not None]
            for op in REDUCE_OPS}


SERIES = [series_name(k, p, i) for k in ("readv", "writev") for p in ("4k", "thp")
          for i in (1, 1024)] + ["memcpy-4k", "memcpy-thp", "shm-4k"] + \
    [f"{k}-4k" for k in VMSPLICE_KINDS] + [f"{k}-thp" for k in VMSPLICE_THP_KINDS]


def write_data(out, results, vrows, trows, rrows, drows):
    d = os.path.join(out, "data")
    os.makedirs(d, exist_ok=True)
    rows = {name: [] for name in SERIES}
    for r in results:
        if r["ratio"] is None:
            continue
        rows.setdefault(series_name(*r["key"][:3]), []).append(r)
    for name, rs in rows.items():
        with open(os.path.join(d, name + ".dat"), "w") as f:
            f.write("# size stock_med patched_med ratio stock_min stock_max "
                    "patched_min patched_max\n")
            for r in rs:
                s, p = r["stock"], r["patched"]
                f.write(f"{r['key'][3]} {s[1]:.3f} {p[1]:.3f} {r['ratio']:.4f} "
                        f"{s[0]:.3f} {s[2]:.3f} {p[0]:.3f} {p[2]:.3f}\n")
    for op, rs in reduce_series(rrows).items():
        with open(os.path.join(d, f"reduce-{op}.dat"), "w") as f:
            f.write("# size reduce_med loop_med reduce/loop pairs_min pairs_max "
                    "reduce_min reduce_max loop_min loop_max\n")
            for r in rs:
                rd, lp, pr = r["reduce"], r["loop"], r["pairs"]
                f.write(f"{r['size']} {rd[1]:.3f} {lp[1]:.3f} {r['ratio']:.4f} {pr[0]:.4f} "
                        f"{pr[2]:.4f} {rd[0]:.3f} {rd[2]:.3f} {lp[0]:.3f} {lp[2]:.3f}\n")
    for sink in DUMP_SINKS:
        with open(os.path.join(d, f"dump-{sink}.dat"), "w") as f:
            f.write("# size vmsplice_med readv_med mem_med vmsplice/readv pairs_min pairs_max "
                    "mem/readv stock_readv_med stock_mem_med (NaN: missing)\n")
            for r in drows:
                if r["sink"] != sink:
                    continue
                nan = lambda x: "NaN" if x is None else f"{x:.4f}"
                med = lambda k, w: r[(k, w)][1] if r[(k, w)] else None
                pr = r[("patched", "ratio")]
                f.write(f"{r['size']} {nan(med('patched', 'vmsplice'))} "
                        f"{nan(med('patched', 'readv'))} {nan(med('patched', 'mem'))} "
                        f"{nan(r['ratio'])} {nan(pr and pr[0])} {nan(pr and pr[2])} "
                        f"{nan(r['mem_ratio'])} {nan(med('stock', 'readv'))} "
                        f"{nan(med('stock', 'mem'))}\n")
    with open(os.path.join(d, "vmsplice-ratio.dat"), "w") as f:
        f.write("# size patched_move/copy patched_move/pipe stock_move/copy "
                "patched_move/copy_incl_refill patched_move/readv (NaN: missing)\n")
        for v in vrows:
            nan = lambda x: "NaN" if x is None else f"{x:.4f}"
            f.write(f"{v['size']} {nan(v['move_copy'])} {nan(v['move_pipe'])} "
                    f"{nan(v['stock_move_copy'])} {nan(v['move_copy_refill'])} "
                    f"{nan(v['move_readv'])}\n")
    with open(os.path.join(d, "vmsplice-thp-ratio.dat"), "w") as f:
        f.write("# size patched_move/copy pairs_min pairs_max patched_move/readv "
                "readv_pairs_min readv_pairs_max stock_move/copy "
                "patched_move/copy_incl_refill (NaN: missing)\n")
        for v in trows:
            nan = lambda x: "NaN" if x is None else f"{x:.4f}"
            pr, rp = v["pairs"], v["readv_pairs"]
            f.write(f"{v['size']} {nan(v['ratio'])} {nan(pr and pr[0])} {nan(pr and pr[2])} "
                    f"{nan(v['move_readv'])} {nan(rp and rp[0])} {nan(rp and rp[2])} "
                    f"{nan(v['stock_move_copy'])} {nan(v['move_copy_refill'])}\n")


def summary(args, boots, results, vrows, trows, grows, rrows, drows, arows):
    for b in boots:
        clock = ""
        if b["uptime"] and b["wall"]:
            ok = 0.8 <= b["uptime"] / b["wall"] <= 1.01
            clock = (f", guest uptime {b['uptime']:.1f} s / host wall {b['wall']:.1f} s"
                     + ("" if ok else " (CLOCK SUSPECT)"))
        print(f"bench: {os.path.basename(b['dir'])}: clocksource {b['clocksource']}, "
              f"{len(b['rows'])} rows, bench {b.get('elapsed', '?')}{clock}")
        for name, line in b["splats"][:3]:
            print(f"bench:   kernel {name}: {line}")
        for e in b["errors"]:
            print(f"bench:   {e}")
    for b in boots:
        # tsc-early reads the same TSC at the rate given by tsc_early_khz;
        # jiffies-based clocksources tick every few milliseconds.
        if b["clocksource"] not in ("tsc", "tsc-early"):
            print(f"bench: WARNING: {os.path.basename(b['dir'])} ran on clocksource "
                  f"{b['clocksource']}: its timings are not trustworthy")
    thp_bad = sorted({t for b in boots for t in b["thp"]
                      if not t.endswith("state=ok")})
    for t in thp_bad:
        print(f"bench: WARNING: THP did not fully happen: {t}")
    loads = [float(b["load"]) for b in boots if b["load"] not in ("?", "")]
    if loads and max(loads) >= 1:
        print(f"bench: WARNING: host load up to {max(loads):.1f} during the boots: other "
              "jobs shared the host's 2 CPUs, ratios are noisy (the memcpy/shm control "
              "rows show how much); rerun on an idle host or with BENCH_WAIT_IDLE=600")
    for line in reduce_skip_text(boots):
        print("bench: " + line.replace("**", ""))
    for line in dump_skip_text(boots):
        print("bench: " + line.replace("**", "").replace("`", ""))
    for r in drows:
        if r["size"] < DUMP_MIN_SIZE:
            continue
        pr = r[("patched", "ratio")]
        print(f"bench: dump {r['sink']} {human(r['size'])}: vmsplice/readv+write "
              f"{opt(r['ratio'])}" + (f" (pairs {pr[0]:.2f}-{pr[2]:.2f})" if pr else "")
              + f", /proc/mem/readv {opt(r['mem_ratio'])}, readv patched/stock "
              f"{opt(r['readv_ps'])}, copies "
              + "/".join(",".join(r["copies"][w]) for w, _ in DUMP_WAYS)
              + f", check {r['check']}: {r['verdict']}")
    for r in rrows:
        pr = r["pairs"]
        print(f"bench: reduce {r['op']} {human(r['size'])}: reduce/readv+loop "
              f"{opt(r['ratio'])}" + (f" (pairs {pr[0]:.2f}-{pr[2]:.2f})" if pr else "")
              + f", loop {', '.join(r['loops'])}, check {r['check']}: {r['verdict']}")
    grant_summary(boots, arows)
    have = [r for r in results if r["ratio"] is not None]
    if not have:
        print("bench: no rows to compare")
        return
    miss = [r for r in have if not r["verdict"].startswith("ok")]
    cma = [r for r in have if r["key"][0] in ("readv", "writev")]
    worst = min(cma or have, key=lambda r: r["ratio"])
    print(f"bench: {len(have)} rows, {len(have) - len(miss)} meet their target, "
          f"{len(miss)} miss")
    print(f"bench: worst process_vm_* row: {label(*worst['key'][:3])}, "
          f"{human(worst['key'][3])}: {worst['ratio']:.3f}")
    thp = [r for r in cma if r["target"] == THP_ROWS]
    if thp:
        print("bench: THP rows >= 2 MiB (target >= {:.2f}): {}".format(
            THP_ROWS, ", ".join(f"{r['key'][0]}/{r['key'][2]}iov/{human(r['key'][3])} "
                                f"{r['ratio']:.2f}" for r in thp)))
    ctl = [r["ratio"] for r in have if r["key"][0] in ("memcpy", "shm")]
    if ctl:
        print(f"bench: control rows (memcpy, shm) ratio {min(ctl):.3f}..{max(ctl):.3f}"
              + ("  (noisy run: compare with care)" if min(ctl) < 0.97 or max(ctl) > 1.03 else ""))
    for v in vrows:
        c = v[("patched", "vmsplice-move", "counts")]
        print(f"bench: vmsplice {human(v['size'])}: move/copy {opt(v['move_copy'])}, "
              f"move/pipe {opt(v['move_pipe'])}, moved {opt(c and c['moved_total'], '{}')}"
              f" of {opt(c and c['xfer_total'], '{}')} pages, fallback "
              f"{opt(c and c['fallback_total'], '{}')}: {v['verdict']}")
    for v in trows:
        c, pr = v[("patched", "vmsplice-move", "counts")], v["pairs"]
        print(f"bench: vmsplice THP {human(v['size'])}: move/copy {opt(v['ratio'])}"
              + (f" (pairs {pr[0]:.2f}-{pr[2]:.2f})" if pr else "")
              + f", move/readv {opt(v['move_readv'])}, THPs moved "
              f"{opt(c and c['thp_moved_total'], '{}')} of "
              f"{opt(c and c['xfer_total'] // THP_PAGES, '{}')}, fallback "
              f"{opt(c and c['fallback_total'], '{}')} pages: {v['verdict']}")
    for g in grows:
        print(f"bench: writer's call {human(g['size'])}: patched gift/plain "
              f"{opt(g['gift_plain'])} (stock {opt(g['stock_gift_plain'])}): {g['verdict']}")
    for r in miss[:12]:
        print(f"bench:   miss: {label(*r['key'][:3])}, {human(r['key'][3])}: "
              f"{r['ratio']:.3f} < {r['target']:.2f} ({r['verdict']})")
    if len(miss) > 12:
        print(f"bench:   ... and {len(miss) - 12} more in results.md")


def grant_summary(boots, arows):
    """The grant rows in a few lines: the spread, the worst row, the misses."""
    for line in grant_skip_text(boots):
        print("bench: " + line.replace("**", ""))
    have = [r for r in arows if r["ratio"] is not None]
    if not have:
        print("bench: grant/pid: no data (no grant rows in this run)")
        return
    name = lambda r: (f"process_vm_{r['op']}, {r['pages']}, {r['iov']} iov, "
                      f"{human(r['size'])}")
    miss = [r for r in have if not r["verdict"].startswith("ok")]
    worst = min(have, key=lambda r: r["ratio"])
    pairs = [r["pairs"] for r in have if r["pairs"]]
    print(f"bench: grant/pid (target >= {GRANT_PID:g} on every row): {len(have)} rows, "
          f"ratio of medians {min(r['ratio'] for r in have):.3f}..{max(r['ratio'] for r in have):.3f}"
          + (f", pairs {min(p[0] for p in pairs):.2f}..{max(p[2] for p in pairs):.2f}"
             if pairs else "")
          + f"; worst {name(worst)}: {worst['ratio']:.3f}; {len(have) - len(miss)} meet it, "
          f"{len(miss)} miss")
    for r in miss[:12]:
        print(f"bench:   grant miss: {name(r)}: {r['verdict']}")
    if len(miss) > 12:
        print(f"bench:   ... and {len(miss) - 12} more in results.md")


if __name__ == "__main__":
    main()
