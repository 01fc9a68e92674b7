#!/usr/bin/env python3
"""Tables for BENCHMARKS.md from the output of bench/run.sh: medians over
the runs, ratios to the floor and to the fastest peer, and per-run (paired)
ratios of tenantjwt to the fastest peer, which cancel most of the drift of
a shared machine. Usage: python3 table.py bench.txt"""
import re, sys, statistics as st
from collections import defaultdict
rows = defaultdict(lambda: defaultdict(list))
order = []
for line in open(sys.argv[1]):
    m = re.match(r'^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$', line)
    if not m: continue
    name = m.group(1)
    if name not in rows: order.append(name)
    parts = m.group(4).split()
    for i in range(0, len(parts) - 1, 2):
        try: rows[name][parts[i+1]].append(float(parts[i]))
        except ValueError: pass
med = {n: {k: st.median(v) for k, v in rows[n].items()} for n in order}
def f(x, d=0):
    return f"{x:,.{d}f}"
out = []
# Verify table
out.append("| alg | implementation | ns/op | B/op | allocs/op | × crypto | × floor | × fastest peer |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|")
peers = ["golang-jwt+keyfunc", "auth0-v3", "go-oidc"]
for alg in ["RS256", "ES256", "EdDSA"]:
    names = [n for n in order if n.startswith(f"BenchmarkVerify/{alg}/")]
    if not names: continue  # a partial bench.txt
    fl = med.get(f"BenchmarkVerify/{alg}/floor", {}).get("ns/op")
    cr = med.get(f"BenchmarkVerify/{alg}/crypto", {}).get("ns/op") or fl
    fastest = min(med[f"BenchmarkVerify/{alg}/{p}"]["ns/op"] for p in peers if f"BenchmarkVerify/{alg}/{p}" in med)
    for n in names:
        m = med[n]; impl = n.split("/", 2)[2]
        out.append(f"| {alg} | {impl} | {f(m['ns/op'])} | {f(m.get('B/op',0))} | {f(m.get('allocs/op',0))} | {m['ns/op']/cr:.2f} | {m['ns/op']/fl:.2f} | {m['ns/op']/fastest:.3f} |")
out.append("")
out.append("| request | ns/op | B/op | allocs/op |")
out.append("|---|---:|---:|---:|")
for n in order:
    if n.startswith("BenchmarkHTTP/"):
        m = med[n]
        out.append(f"| {n.split('/',1)[1]} | {f(m['ns/op'])} | {f(m.get('B/op',0))} | {f(m.get('allocs/op',0))} |")
out.append("")
out.append("| issuers | ns/op | B/op | allocs/op | memory per issuer |")
out.append("|---:|---:|---:|---:|---:|")
for n in order:
    if n.startswith("BenchmarkIssuers/"):
        m = med[n]
        out.append(f"| {n.split('/',1)[1]} | {f(m['ns/op'])} | {f(m.get('B/op',0))} | {f(m.get('allocs/op',0))} | {f(m.get('B/issuer',0))} B |")
out.append("")
out.append("| rpc | ns/op | B/op | allocs/op | overhead ns (paired median) |")
out.append("|---|---:|---:|---:|---:|")
for n in order:
    if n.startswith("BenchmarkRPC/"):
        m = med[n]; base = "BenchmarkRPC/" + n.split("/")[1] + "/bare"
        d = st.median(x - y for x, y in zip(rows[n]["ns/op"], rows[base]["ns/op"])) if base in rows else 0
        out.append(f"| {n.split('/',1)[1]} | {f(m['ns/op'])} | {f(m.get('B/op',0))} | {f(m.get('allocs/op',0))} | {f(d)} |")
out.append("")
# serve against the bare net/http floor (issue 20): medians over the passes.
so = rows.get("BenchmarkServeOverhead")
if so:
    m = med["BenchmarkServeOverhead"]; r = so["rps-ratio"]
    out.append(f"| server | req/s | p50 µs | p99 µs | CPU µs/req | client CPU µs/req | GC per 1k req |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for srv in ["serve", "bare"]:
        gc = f"{m[srv+'-gc/1k-req']:.2f}" if srv+'-gc/1k-req' in m else "—"
        out.append(f"| {srv} | {f(m[srv+'-req/s'])} | {f(m[srv+'-p50-µs'])} | {f(m[srv+'-p99-µs'])} | {f(m.get(srv+'-cpu-µs/req', 0), 1)} | {f(m.get(srv+'-client-cpu-µs/req', 0), 1)} | {gc} |")
    out.append("")
    out.append(f"serve ÷ bare over {len(r)} passes (median, min–max): requests/s per round "
               f"{st.median(r):.3f} ({min(r):.3f}–{max(r):.3f}), all rounds together "
               f"{st.median(so['rps-ratio-total']):.3f}, p99 {st.median(so['p99-ratio']):.3f} "
               f"({min(so['p99-ratio']):.3f}–{max(so['p99-ratio']):.3f}), CPU per request "
               f"{st.median(so.get('cpu-ratio', [0])):.3f}")
    out.append("")
for n in order:
    if not n.startswith(("BenchmarkVerify/", "BenchmarkHTTP/", "BenchmarkIssuers/", "BenchmarkRPC/", "BenchmarkServeOverhead")):
        out.append(f"{n}: " + ", ".join(f"{k} {v:,.2f}" for k, v in med[n].items()))
# Paired ratios: run k of tenantjwt-first against run k of each peer.
runs = len(rows["BenchmarkVerify/RS256/floor"]["ns/op"])
out.append("")
out.append(f"| alg | tenantjwt-first ÷ fastest peer, per run: median | min | max | runs ≤ 1.0 |")
out.append("|---|---:|---:|---:|---:|")
for alg in ["RS256", "ES256", "EdDSA"] if runs else []:
    t = rows[f"BenchmarkVerify/{alg}/tenantjwt-first"]["ns/op"]
    ps = [rows[f"BenchmarkVerify/{alg}/{p}"]["ns/op"] for p in peers if f"BenchmarkVerify/{alg}/{p}" in rows]
    r = [t[k] / min(p[k] for p in ps) for k in range(runs)]
    out.append(f"| {alg} | {st.median(r):.3f} | {min(r):.3f} | {max(r):.3f} | {sum(1 for v in r if v <= 1)}/{runs} |")
out.append("")
out.append("spread over the runs (min–max ns/op):")
for n in order:
    v = rows[n].get("ns/op")
    if v and n.startswith("BenchmarkVerify/"):
        out.append(f"  {n.removeprefix('BenchmarkVerify/')}: {min(v):,.0f}–{max(v):,.0f}")
print("\n".join(out))
