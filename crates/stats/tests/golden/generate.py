#!/usr/bin/env python3
"""Generate the golden vectors for crates/stats.

Every expected value comes from an independent reference: R (stats, pwr), statsmodels or
scipy. Where a reference solves an equation with a loose default tolerance (R's uniroot uses
eps^0.25), the script calls the reference's own power function and solves it tightly, so the
vectors are exact to double precision rather than to the solver's default.

Run from anywhere:  python3 crates/stats/tests/golden/generate.py
Needs: numpy, scipy, statsmodels (PyPI); R with pwr (Debian r-base-core, r-cran-pwr).
The output is deterministic: fixed inputs, seeded random data, sorted keys.
"""

import json
import math
import os
import re
import subprocess

import numpy as np
from scipy import optimize, stats

HERE = os.path.dirname(os.path.abspath(__file__))


def write(family, cases, note):
    path = os.path.join(HERE, f"{family}.json")
    doc = {"family": family, "note": note, "cases": cases}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{family}: {len(cases)} cases")


def fl(x):
    return float(x)


def run_r(exprs):
    """Evaluate R expressions that each yield one number; returns the numbers."""
    lines = ["suppressMessages(library(pwr))", "options(digits = 17)"]
    for e in exprs:
        lines.append(f'cat(sprintf("%.17g\\n", as.numeric({e})))')
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run(["Rscript", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    assert out.returncode == 0, out.stderr
    bad = [l for l in out.stdout.splitlines() if not re.fullmatch(r"[-+0-9.eEInfNA]+", l.strip())]
    assert not bad, bad[:5]
    vals = [float(v) for v in out.stdout.split()]
    assert len(vals) == len(exprs), out.stderr
    return vals


def root(f, lo, hi):
    return optimize.brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


# --------------------------------------------------------------------------------------------
# Power, sample size, MDE and alpha.
# --------------------------------------------------------------------------------------------

def design(family, alpha, sides, ratio=1.0, strict=None):
    return {"family": family, "alpha": alpha, "sides": sides, "ratio": ratio, "strict": strict}


def prop_family(baseline, method):
    return {"family": "proportions", "baseline": baseline, "method": method}


def mean_family(test):
    return {"family": "means", "test": test}


def gen_power():
    from statsmodels.stats.power import (NormalIndPower, TTestIndPower, TTestPower,
                                         normal_power_het, normal_sample_size_one_tail)
    from statsmodels.stats.proportion import (power_proportions_2indep,
                                              samplesize_proportions_2indep_onetail)

    cases = []
    r_jobs = []  # (case, R expression) filled in after one batched Rscript call

    def add(solve, des, oracle, expect_key, value=None, r_expr=None, **kw):
        c = {"kind": "design", "solve": solve, "design": des, "oracle": oracle}
        c.update(kw)
        if r_expr is not None:
            r_jobs.append((c, expect_key, r_expr))
            c["expect"] = {}
        else:
            c["expect"] = {expect_key: fl(value)}
        cases.append(c)

    rside = {"two-sided": "two.sided", "one-sided": "one.sided"}
    # ---- pooled proportions against R power.prop.test (equal n) ----
    grid = [(0.1, 0.12), (0.5, 0.55), (0.01, 0.012), (0.001, 0.0015), (0.95, 0.97), (0.3, 0.2),
            (0.999, 0.9995), (0.05, 0.15), (0.2, 0.8), (0.0001, 0.0003)]
    for (p1, p2) in grid:
        for sides in ["two-sided", "one-sided"]:
            for alpha in [0.05, 0.01, 1e-4]:
                for strict in [False, True]:
                    s = "TRUE" if strict else "FALSE"
                    add("n", design(prop_family(p1, "pooled"), alpha, sides, 1.0, strict),
                        "R power.prop.test", "n", effect=p2, power=0.8,
                        r_expr=f'power.prop.test(p1={p1}, p2={p2}, power=0.8, sig.level={alpha}, alternative="{rside[sides]}", strict={s}, tol=1e-14)$n')
                n = 500.0 if p1 > 0.01 else 200000.0
                add("power", design(prop_family(p1, "pooled"), alpha, sides, 1.0, None),
                    "R power.prop.test", "power", effect=p2, n=n,
                    r_expr=f'power.prop.test(n={n}, p1={p1}, p2={p2}, sig.level={alpha}, alternative="{rside[sides]}")$power')
                add("power", design(prop_family(p1, "pooled"), alpha, sides, 1.0, True),
                    "R power.prop.test strict", "power", effect=p2, n=n,
                    r_expr=f'power.prop.test(n={n}, p1={p1}, p2={p2}, sig.level={alpha}, alternative="{rside[sides]}", strict=TRUE)$power')
    # MDE (solve p2) and alpha against R.
    for (p1, n, pw) in [(0.1, 1000, 0.8), (0.5, 50, 0.9), (0.02, 20000, 0.8), (0.001, 1e6, 0.8), (0.9, 300, 0.5)]:
        for sides in ["two-sided", "one-sided"]:
            add("mde", design(prop_family(p1, "pooled"), 0.05, sides), "R power.prop.test", "effect",
                n=n, power=pw, decrease=False,
                r_expr=f'power.prop.test(n={n}, p1={p1}, power={pw}, sig.level=0.05, alternative="{rside[sides]}", tol=1e-14)$p2')
    for (p1, p2, n, pw) in [(0.1, 0.13, 1000, 0.8), (0.5, 0.6, 300, 0.9), (0.02, 0.025, 20000, 0.6)]:
        for sides in ["two-sided", "one-sided"]:
            add("alpha", design(prop_family(p1, "pooled"), 0.05, sides), "R power.prop.test", "alpha",
                effect=p2, n=n, power=pw,
                r_expr=f'power.prop.test(n={n}, p1={p1}, p2={p2}, power={pw}, sig.level=NULL, alternative="{rside[sides]}", tol=1e-14)$sig.level')
    # ---- pooled with unequal allocation against statsmodels ----
    for (p1, p2) in [(0.1, 0.12), (0.5, 0.45), (0.02, 0.03), (0.9, 0.95)]:
        for ratio in [0.25, 0.5, 2.0, 3.0]:
            for sides in ["two-sided", "one-sided"]:
                a = 0.05
                n = samplesize_proportions_2indep_onetail(p1 - p2, p2, 0.8, ratio=ratio, alpha=a,
                                                          alternative="two-sided" if sides == "two-sided" else "larger")
                add("n", design(prop_family(p1, "pooled"), a, sides, ratio), "statsmodels samplesize_proportions_2indep_onetail",
                    "n", n, effect=p2, power=0.8)
                pw = power_proportions_2indep(p1 - p2, p2, 800, ratio=ratio, alpha=a,
                                              alternative="two-sided" if sides == "two-sided" else ("larger" if p1 > p2 else "smaller"),
                                              return_results=False)
                add("power", design(prop_family(p1, "pooled"), a, sides, ratio, True), "statsmodels power_proportions_2indep",
                    "power", pw, effect=p2, n=800.0)
    # ---- unpooled: statsmodels normal_sample_size_one_tail / normal_power_het ----
    for (p1, p2) in [(0.1, 0.12), (0.5, 0.55), (0.01, 0.02), (0.97, 0.99)]:
        for ratio in [1.0, 2.0, 0.5]:
            for sides in ["two-sided", "one-sided"]:
                a = 0.05
                s = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
                at = a / 2 if sides == "two-sided" else a
                n = normal_sample_size_one_tail(p2 - p1, 0.8, at, std_null=s, std_alternative=s)
                add("n", design(prop_family(p1, "unpooled"), a, sides, ratio), "statsmodels normal_sample_size_one_tail",
                    "n", n, effect=p2, power=0.8)
                pw = normal_power_het(abs(p2 - p1), 1500, a, std_null=s, std_alternative=s,
                                      alternative="two-sided" if sides == "two-sided" else "larger")
                add("power", design(prop_family(p1, "unpooled"), a, sides, ratio, True), "statsmodels normal_power_het",
                    "power", pw, effect=p2, n=1500.0)
    # ---- arcsine: R pwr.2p.test / pwr.2p2n.test and statsmodels NormalIndPower ----
    for (p1, p2) in [(0.1, 0.12), (0.5, 0.55), (0.01, 0.015), (0.9, 0.8), (0.001, 0.002), (0.3, 0.7)]:
        h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
        for sides in ["two-sided", "one-sided"]:
            alt = "two.sided" if sides == "two-sided" else ("greater" if h > 0 else "less")
            for n in [30.0, 1000.0, 100000.0]:
                add("power", design(prop_family(p1, "arcsine"), 0.05, sides), "R pwr.2p.test", "power",
                    effect=p2, n=n, r_expr=f'pwr.2p.test(h=ES.h({p2},{p1}), n={n}, sig.level=0.05, alternative="{alt}")$power')
            add("power", design(prop_family(p1, "arcsine"), 0.01, sides, 2.5), "R pwr.2p2n.test", "power",
                effect=p2, n=400.0, r_expr=f'pwr.2p2n.test(h=ES.h({p2},{p1}), n1=400, n2=1000, sig.level=0.01, alternative="{alt}")$power')
            for ratio in [1.0, 3.0]:
                sm_alt = "two-sided" if sides == "two-sided" else "larger"
                f = lambda n: NormalIndPower().power(abs(h), n, 0.05, ratio=ratio, alternative=sm_alt) - 0.8
                n = root(f, 1e-6, 1e13)
                add("n", design(prop_family(p1, "arcsine"), 0.05, sides, ratio), "statsmodels NormalIndPower", "n", n,
                    effect=p2, power=0.8)
            hh = NormalIndPower().solve_power(None, 2000, 0.05, 0.8, alternative="two-sided" if sides == "two-sided" else "larger")
            hh = root(lambda e: NormalIndPower().power(e, 2000, 0.05, alternative="two-sided" if sides == "two-sided" else "larger") - 0.8, 1e-9, 10)
            p2m = math.sin(math.asin(math.sqrt(p1)) + hh / 2) ** 2
            if p2m < 1:
                add("mde", design(prop_family(p1, "arcsine"), 0.05, sides), "statsmodels NormalIndPower", "effect", p2m,
                    n=2000.0, power=0.8, decrease=False)
    # ---- two means, z ----
    for d in [0.05, 0.2, 0.5, 1.5]:
        for ratio in [1.0, 0.5, 4.0]:
            for sides in ["two-sided", "one-sided"]:
                sm_alt = "two-sided" if sides == "two-sided" else "larger"
                ip = NormalIndPower()
                add("power", design(mean_family("z"), 0.05, sides, ratio), "statsmodels NormalIndPower", "power",
                    ip.power(d, 50, 0.05, ratio=ratio, alternative=sm_alt), effect=d, n=50.0)
                n = root(lambda n: ip.power(d, n, 0.05, ratio=ratio, alternative=sm_alt) - 0.9, 1e-6, 1e13)
                add("n", design(mean_family("z"), 0.05, sides, ratio), "statsmodels NormalIndPower", "n", n, effect=d, power=0.9)
    # ---- two means, t: statsmodels TTestIndPower and R pwr ----
    tp = TTestIndPower()
    for d in [0.05, 0.2, 0.5, 0.8, 2.0, 5.0]:
        for sides in ["two-sided", "one-sided"]:
            sm_alt = "two-sided" if sides == "two-sided" else "larger"
            alt = "two.sided" if sides == "two-sided" else "greater"
            for n in [2.0, 5.0, 40.0, 3000.0]:
                add("power", design(mean_family("t"), 0.05, sides), "R pwr.t.test", "power", effect=d, n=n,
                    r_expr=f'pwr.t.test(n={n}, d={d}, sig.level=0.05, type="two.sample", alternative="{alt}")$power')
            add("power", design(mean_family("t"), 0.01, sides, 1.5), "R pwr.t2n.test", "power", effect=d, n=20.0,
                r_expr=f'pwr.t2n.test(n1=20, n2=30, d={d}, sig.level=0.01, alternative="{alt}")$power')
            for ratio in [1.0, 0.5, 2.0]:
                for pw in [0.8, 0.95]:
                    f = lambda n: tp.power(d, n, 0.05, ratio=ratio, alternative=sm_alt) - pw
                    lo = 2.0 / (1 + ratio) * (1 + 1e-9) + 1e-9
                    if f(lo) < 0:
                        n = root(f, lo, 10 + 8 * 2 * (3.3 / d) ** 2 / min(ratio, 1))
                        add("n", design(mean_family("t"), 0.05, sides, ratio), "statsmodels TTestIndPower", "n", n,
                            effect=d, power=pw)
            # R power.t.test (strict = TRUE counts both tails, like pwr) solved tightly.
            if d <= 2.0:
                rs = "two.sided" if sides == "two-sided" else "one.sided"
                add("n", design(mean_family("t"), 0.05, sides), "R power.t.test strict", "n", effect=d, power=0.8,
                    r_expr=f'power.t.test(delta={d}, sd=1, power=0.8, sig.level=0.05, alternative="{rs}", strict=TRUE, tol=1e-14)$n')
    for n in [10.0, 100.0, 5000.0]:
        for sides in ["two-sided", "one-sided"]:
            sm_alt = "two-sided" if sides == "two-sided" else "larger"
            e = root(lambda e: tp.power(e, n, 0.05, alternative=sm_alt) - 0.8, 1e-9, 5)
            add("mde", design(mean_family("t"), 0.05, sides), "statsmodels TTestIndPower", "effect", e, n=n, power=0.8,
                decrease=False)
            a = root(lambda a: tp.power(0.3, n, a, alternative=sm_alt) - 0.7, 1e-300, 1 - 1e-12) if tp.power(0.3, n, 1e-300, alternative=sm_alt) < 0.7 < tp.power(0.3, n, 1 - 1e-12, alternative=sm_alt) else None
            if a is not None and a > 1e-10:
                add("alpha", design(mean_family("t"), 0.05, sides), "statsmodels TTestIndPower", "alpha", a, effect=0.3,
                    n=n, power=0.7)
    # ---- one-sample and paired t ----
    op = TTestPower()
    for d in [0.1, 0.3, 1.0, 3.0]:
        for sides in ["two-sided", "one-sided"]:
            alt = "two.sided" if sides == "two-sided" else "greater"
            sm_alt = "two-sided" if sides == "two-sided" else "larger"
            for n in [3.0, 25.0, 800.0]:
                for typ in ["one.sample", "paired"]:
                    add("power", design(mean_family("one-sample-t"), 0.05, sides), f"R pwr.t.test {typ}", "power",
                        effect=d, n=n, r_expr=f'pwr.t.test(n={n}, d={d}, sig.level=0.05, type="{typ}", alternative="{alt}")$power')
            f = lambda n: op.power(d, n, 0.05, alternative=sm_alt) - 0.8
            if f(1 + 1e-9) < 0:
                add("n", design(mean_family("one-sample-t"), 0.05, sides), "statsmodels TTestPower", "n", root(f, 1 + 1e-9, 10 + 8 * (3.3 / d) ** 2),
                    effect=d, power=0.8)
    vals = run_r([e for (_, _, e) in r_jobs])
    for (c, k, _), v in zip(r_jobs, vals):
        c["expect"] = {k: v}
    write("power", cases, "Power, sample size (n = control group), MDE (treatment rate or Cohen's d) and alpha")


if __name__ == "__main__":
    gen_power()
