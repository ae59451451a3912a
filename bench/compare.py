#!/usr/bin/env python3
"""Compare two results.json files (e.g. R reference vs Python or Rust).

    python3 bench/compare.py REFERENCE.json OTHER.json [--rtol 1e-9] [--atol 1e-12]

Matches prevalence by `variable`, comparisons and survival by `id`, and
compares every field present in both. Strings and integers must be equal;
floats must agree to rtol or atol (whichever is looser); null must match
null. Prints one line per disagreeing field, then a per-field summary of the
largest relative difference, and exits 1 when anything disagrees.
"""

import argparse
import json
import math
import signal
import sys
from collections import defaultdict


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("other")
    ap.add_argument("--rtol", type=float, default=1e-9)
    ap.add_argument("--atol", type=float, default=1e-12)
    ap.add_argument("--quiet", action="store_true", help="only the summary")
    a = ap.parse_args()
    ref = json.load(open(a.reference))
    oth = json.load(open(a.other))

    worst = defaultdict(float)  # field -> max relative difference
    bad = []

    def cmp(where, field, x, y):
        if isinstance(x, dict) or isinstance(x, list):
            return
        if x is None or y is None or isinstance(x, (str, bool)) or isinstance(y, (str, bool)):
            if x != y:
                bad.append(f"{where}.{field}: {x!r} vs {y!r}")
            return
        x, y = float(x), float(y)
        diff = abs(x - y)
        rel = diff / max(abs(x), abs(y)) if diff else 0.0
        worst[field] = max(worst[field], rel)
        if diff > max(a.atol, a.rtol * max(abs(x), abs(y))):
            bad.append(f"{where}.{field}: {x!r} vs {y!r} (rel {rel:.2e})")

    def cmp_obj(where, r, o):
        for k in r:
            if k in o and k != "path":
                cmp(where, k, r[k], o[k])

    cmp_obj("input", ref.get("input", {}), oth.get("input", {}))
    cmp_obj("population", ref["population"], oth["population"])
    for sub in ("lcssc", "dcssc"):
        if "population_by_subset" in ref and "population_by_subset" in oth:
            cmp_obj(f"population_by_subset.{sub}", ref["population_by_subset"][sub],
                    oth["population_by_subset"][sub])
    for section, key in (("prevalence", "variable"), ("comparisons", "id"), ("survival", "id")):
        o_by = {x[key]: x for x in oth.get(section, [])}
        for r in ref.get(section, []):
            if r[key] not in o_by:
                bad.append(f"{section}: {r[key]} missing")
                continue
            cmp_obj(f"{section}[{r[key]}]", r, o_by[r[key]])
        extra = set(o_by) - {r[key] for r in ref.get(section, [])}
        for k in sorted(extra):
            bad.append(f"{section}: {k} not in reference")

    if not a.quiet:
        for line in bad:
            print(line)
    print(f"{len(bad)} disagreement(s) at rtol={a.rtol:g} atol={a.atol:g}")
    print("largest relative difference per numeric field:")
    for f, v in sorted(worst.items(), key=lambda kv: -kv[1]):
        print(f"  {f:24s} {v:.2e}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
