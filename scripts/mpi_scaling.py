#!/usr/bin/env python3
"""Collect the runs of scripts/mpi_scaling.sh into OUT/mpi_scaling.json and
draw OUT/mpi_scaling.svg: seconds per CAVI iteration against P (strong
scaling beside the ideal T1/P, weak scaling beside the ideal T1), with the
part spent in the allreduce. Standard library only.

Usage: mpi_scaling.py OUT "1 2 4"
"""
import json
import os
import platform
import sys


def load(out, kind, p):
    with open(os.path.join(out, f"{kind}-p{p}", "metrics.json")) as f:
        m = json.load(f)
    return {
        "P": p,
        "N": m["n_train"],
        "rows_per_process": m["rows_per_process"],
        "D": m["dim"],
        "K": m["k"],
        "iterations": m["n_iter"],
        "iteration_seconds": m["iteration_seconds"],
        "allreduce_seconds_per_iteration": m["allreduce_seconds_per_iteration"],
        "compute_seconds_per_iteration": m["iteration_seconds"] - m["allreduce_seconds_per_iteration"],
        "wall_seconds": m["wall_seconds"],
        "bound": m["bound"],
    }


def panel(x0, title, rows, ideal, width=360, height=260):
    """One panel of the figure as SVG elements, log2 P on x, linear seconds on y."""
    ps = [r["P"] for r in rows]
    ys = [r["iteration_seconds"] for r in rows] + ideal
    ymax = max(ys) * 1.15
    left, top, w, h = x0 + 60, 40, width - 80, height - 90

    def px(p):
        import math
        lo, hi = math.log2(min(ps)), math.log2(max(ps))
        return left + (0.5 if hi == lo else (math.log2(p) - lo) / (hi - lo)) * w

    def py(v):
        return top + h - v / ymax * h

    el = [f'<text x="{x0 + width / 2}" y="22" text-anchor="middle" font-size="13">{title}</text>',
          f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="black"/>',
          f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="black"/>',
          f'<text x="{left + w / 2}" y="{top + h + 35}" text-anchor="middle" font-size="11">processes P</text>',
          f'<text x="{x0 + 14}" y="{top + h / 2}" font-size="11" transform="rotate(-90 {x0 + 14} {top + h / 2})" text-anchor="middle">seconds per iteration</text>']
    for p in ps:
        el.append(f'<text x="{px(p)}" y="{top + h + 16}" text-anchor="middle" font-size="11">{p}</text>')
    for i in range(5):
        v = ymax * i / 4
        el.append(f'<text x="{left - 5}" y="{py(v) + 4}" text-anchor="end" font-size="10">{v:.2f}</text>')
        el.append(f'<line x1="{left}" y1="{py(v)}" x2="{left + w}" y2="{py(v)}" stroke="#ddd"/>')

    def line(vals, colour, dash=""):
        pts = " ".join(f"{px(p)},{py(v)}" for p, v in zip(ps, vals))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        el.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{d}/>')
        for p, v in zip(ps, vals):
            el.append(f'<circle cx="{px(p)}" cy="{py(v)}" r="3" fill="{colour}"/>')

    line(ideal, "#999999", "5,4")
    line([r["iteration_seconds"] for r in rows], "#1f77b4")
    line([r["allreduce_seconds_per_iteration"] for r in rows], "#d62728")
    return el


def main():
    out, ps = sys.argv[1], [int(p) for p in sys.argv[2].split()]
    strong = [load(out, "strong", p) for p in ps]
    weak = [load(out, "weak", p) for p in ps]
    t1s, t1w = strong[0]["iteration_seconds"], weak[0]["iteration_seconds"]
    for r in strong:
        r["speedup"] = t1s / r["iteration_seconds"]
        r["efficiency"] = r["speedup"] / r["P"]
    for r in weak:
        r["efficiency"] = t1w / r["iteration_seconds"]
    summary = {
        "machine": f"{platform.node()} ({os.cpu_count()} logical cores), one thread per process",
        "strong": strong,
        "weak": weak,
    }
    with open(os.path.join(out, "mpi_scaling.json"), "w") as f:
        json.dump(summary, f, indent=2)
    el = panel(0, f"strong: N = {strong[0]['N']:.0e} in all", strong, [t1s / r["P"] for r in strong])
    el += panel(380, f"weak: N/P = {weak[0]['N']:.1e} per process", weak, [t1w for _ in weak])
    legend = [("#1f77b4", "per iteration"), ("#d62728", "in the allreduce"), ("#999999", "ideal")]
    for i, (c, t) in enumerate(legend):
        el.append(f'<rect x="{200 + 150 * i}" y="262" width="14" height="4" fill="{c}"/>')
        el.append(f'<text x="{220 + 150 * i}" y="268" font-size="11">{t}</text>')
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="760" height="280" font-family="sans-serif">'
           '<rect width="100%" height="100%" fill="white"/>' + "".join(el) + "</svg>\n")
    with open(os.path.join(out, "mpi_scaling.svg"), "w") as f:
        f.write(svg)
    for kind, rows in (("strong", strong), ("weak", weak)):
        for r in rows:
            print(f"{kind:6} P={r['P']} N={r['N']:>9} s/iter={r['iteration_seconds']:.4f} "
                  f"allreduce={r['allreduce_seconds_per_iteration'] * 1e3:.3f} ms "
                  f"efficiency={r['efficiency']:.2f}")


if __name__ == "__main__":
    main()
