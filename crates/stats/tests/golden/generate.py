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
    for d in [0.1, 0.3, 0.8, 1.5]:
        for sides in ["two-sided", "one-sided"]:
            rs = "two.sided" if sides == "two-sided" else "one.sided"
            for pw in [0.8, 0.95]:
                add("n", design(mean_family("one-sample-t"), 0.05, sides), "R power.t.test one.sample strict", "n",
                    effect=d, power=pw,
                    r_expr=f'power.t.test(delta={d}, sd=1, power={pw}, sig.level=0.05, type="one.sample", alternative="{rs}", strict=TRUE, tol=1e-14)$n')
    vals = run_r([e for (_, _, e) in r_jobs])
    for (c, k, _), v in zip(r_jobs, vals):
        c["expect"] = {k: v}
    write("power", cases, "Power, sample size (n = control group), MDE (treatment rate or Cohen's d) and alpha")


# --------------------------------------------------------------------------------------------
# Tests.
# --------------------------------------------------------------------------------------------

ALT_SCIPY = {"two-sided": "two-sided", "greater": "greater", "less": "less"}
ALT_SM = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


def gen_tests():
    from statsmodels.stats.proportion import proportions_ztest, test_proportions_2indep

    rng = np.random.default_rng(20240601)
    cases = []

    def add(kind, oracle, expect, **kw):
        c = {"kind": kind, "oracle": oracle, "expect": {k: fl(v) if not isinstance(v, list) else v for k, v in expect.items()}}
        c.update(kw)
        cases.append(c)

    # Two-proportion z, pooled and unpooled. Treatment is passed first to statsmodels.
    for (x1, n1, x2, n2) in [(100, 1000, 120, 1000), (5, 200, 14, 210), (4000, 100000, 4300, 100000),
                             (1, 50, 3, 60), (480, 500, 495, 500), (20000, 1000000, 21500, 1000000),
                             (300, 10000, 200, 10000)]:
        for alt in ["two-sided", "greater", "less"]:
            z, p = proportions_ztest([x2, x1], [n2, n1], alternative=ALT_SM[alt])
            add("prop_z", "statsmodels proportions_ztest", {"statistic": z, "p_value": p},
                x1=x1, n1=n1, x2=x2, n2=n2, alternative=alt, pooled=True)
            r = test_proportions_2indep(x2, n2, x1, n1, method="wald", alternative=ALT_SM[alt])
            add("prop_z", "statsmodels test_proportions_2indep wald", {"statistic": r.statistic, "p_value": r.pvalue},
                x1=x1, n1=n1, x2=x2, n2=n2, alternative=alt, pooled=False)
    # Chi-square contingency.
    tables = [[[10, 20], [30, 25]], [[1, 9], [8, 2]], [[100, 200, 300], [120, 180, 310]],
              [[5000, 95000], [5400, 94600]], [[3, 0], [1, 7]], [[12, 5, 9, 30], [7, 11, 3, 25], [9, 9, 9, 2]],
              [[50000, 50000], [48000, 52000]]]
    for t in tables:
        for corr in [True, False]:
            r = stats.chi2_contingency(np.array(t), correction=corr)
            add("chi2_independence", "scipy chi2_contingency", {"statistic": r.statistic, "p_value": r.pvalue, "df": r.dof},
                table=t, yates=corr)
    # Goodness of fit.
    for (obs, w) in [([50, 50], [1, 1]), ([5100, 4900], [1, 1]), ([10, 20, 30, 40], [1, 1, 1, 1]),
                     ([500, 260, 240], [0.5, 0.25, 0.25]), ([100000, 98000], [1, 1]), ([50500, 49000, 50500], [1, 1, 1])]:
        tot = sum(obs)
        fe = [tot * wi / sum(w) for wi in w]
        r = stats.chisquare(obs, fe)
        add("chi2_gof", "scipy chisquare", {"statistic": r.statistic, "p_value": r.pvalue}, observed=obs, weights=w)
    # Fisher exact.
    for t in [[[8, 2], [1, 5]], [[3, 1], [1, 3]], [[10, 10], [10, 10]], [[0, 5], [5, 0]], [[20, 380], [45, 355]],
              [[1, 99], [12, 88]], [[2, 7], [8, 2]], [[150, 50], [100, 100]]]:
        for alt in ["two-sided", "greater", "less"]:
            r = stats.fisher_exact(t, alternative=alt)
            add("fisher", "scipy fisher_exact", {"p_value": r.pvalue}, table=t, alternative=alt)
    # t tests from summaries and from data.
    for (m1, s1, n1, m2, s2, n2) in [(10, 2, 30, 11, 2.5, 35), (0, 1, 5, 0.5, 1, 5), (100, 30, 2000, 101.5, 35, 1800),
                                     (5, 1, 3, 9, 4, 4), (0, 1, 100000, 0.03, 1, 100000), (1, 0.1, 10, 1.5, 0.1, 10)]:
        for eq in [True, False]:
            for alt in ["two-sided", "greater", "less"]:
                r = stats.ttest_ind_from_stats(m2, s2, n2, m1, s1, n1, equal_var=eq, alternative=alt)
                add("t_two_sample", "scipy ttest_ind_from_stats", {"statistic": r.statistic, "p_value": r.pvalue},
                    control=[m1, s1, n1], treatment=[m2, s2, n2], equal_var=eq, alternative=alt)
    for k in range(6):
        n = [8, 25, 60, 200, 15, 40][k]
        a = list(np.round(rng.normal(10, 3, n), 4))
        b = list(np.round(rng.normal(10.8 + 0.2 * k, 3.5, n), 4))
        for alt in ["two-sided", "greater"]:
            r = stats.ttest_rel(b, a, alternative=alt)
            add("t_paired", "scipy ttest_rel", {"statistic": r.statistic, "p_value": r.pvalue}, control=a, treatment=b, alternative=alt)
            r = stats.ttest_1samp(b, 10.0, alternative=alt)
            add("t_one_sample", "scipy ttest_1samp", {"statistic": r.statistic, "p_value": r.pvalue}, data=b, mu0=10.0, alternative=alt)
    # Mann-Whitney: asymptotic with ties and continuity; exact without ties.
    for k in range(8):
        n1, n2 = [(20, 25), (50, 40), (7, 9), (100, 120), (12, 12), (30, 3), (200, 180), (15, 60)][k]
        x = list(np.round(rng.normal(0, 1, n2) * 3).astype(float))
        y = list(np.round(rng.normal(0.4, 1, n1) * 3).astype(float))
        for alt in ["two-sided", "greater", "less"]:
            for cont in [True, False]:
                r = stats.mannwhitneyu(y, x, use_continuity=cont, alternative=alt, method="asymptotic")
                add("mwu", "scipy mannwhitneyu asymptotic", {"statistic": r.statistic, "p_value": r.pvalue},
                    control=x, treatment=y, alternative=alt, method="asymptotic", continuity=cont)
    for k in range(8):
        n1, n2 = [(3, 4), (5, 5), (8, 7), (10, 12), (20, 20), (2, 9), (30, 25), (6, 40)][k]
        v = rng.permutation(np.arange(n1 + n2) * 1.0 + rng.uniform(0, 0.5)) + 0.0
        y = list(v[:n1] + np.linspace(0.13, 1.77, n1))
        x = list(v[n1:])
        for alt in ["two-sided", "greater", "less"]:
            r = stats.mannwhitneyu(y, x, alternative=alt, method="exact")
            add("mwu", "scipy mannwhitneyu exact", {"statistic": r.statistic, "p_value": r.pvalue},
                control=x, treatment=y, alternative=alt, method="exact", continuity=True)
    # Bootstrap: the interval from fixed replicates, checked against scipy's own BCa code.
    from scipy.stats._resampling import _bca_interval
    import scipy._lib._array_api as xa
    xp = xa.array_namespace(np.asarray([1.0]))
    for k in range(8):
        n = [15, 30, 60, 25, 40, 12, 80, 20][k]
        data = rng.gamma(2.0, 3.0, n).round(3)
        stat_name = ["mean", "median"][k % 2]
        f = {"mean": np.mean, "median": np.median}[stat_name]
        B = 400
        idx = rng.integers(0, n, (B, n))
        reps = np.array([f(data[i]) for i in idx])
        for level in [0.9, 0.95]:
            alpha = (1 - level) / 2
            a1, a2, _ = _bca_interval((data,), lambda x, axis: f(x, axis=axis), -1, alpha, reps, None, xp)
            lo, hi = np.quantile(reps, [float(a1), float(a2)])
            add("bootstrap_replicates", "scipy.stats._resampling._bca_interval + quantile",
                {"lower": lo, "upper": hi}, statistic=stat_name, samples=[list(data)], replicates=list(reps),
                level=level, method="bca")
            lo, hi = np.quantile(reps, [alpha, 1 - alpha])
            add("bootstrap_replicates", "numpy quantile (percentile method)", {"lower": lo, "upper": hi},
                statistic=stat_name, samples=[list(data)], replicates=list(reps), level=level, method="percentile")
    for k in range(3):
        a = rng.normal(5, 2, 20 + 5 * k).round(3)
        b = rng.normal(6, 2, 25).round(3)
        B = 300
        reps = np.array([b[rng.integers(0, len(b), len(b))].mean() - a[rng.integers(0, len(a), len(a))].mean() for _ in range(B)])
        alpha = 0.025
        a1, a2, _ = _bca_interval((a, b), lambda x, y, axis: np.mean(y, axis=axis) - np.mean(x, axis=axis), -1, alpha, reps, None, xp)
        lo, hi = np.quantile(reps, [float(a1), float(a2)])
        add("bootstrap_replicates", "scipy.stats._resampling._bca_interval + quantile", {"lower": lo, "upper": hi},
            statistic="diff-means", samples=[list(a), list(b)], replicates=list(reps), level=0.95, method="bca")
    write("tests", cases, "Hypothesis tests; two-sample tests are treatment minus control")


# --------------------------------------------------------------------------------------------
# Intervals.
# --------------------------------------------------------------------------------------------

def gen_intervals():
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
    cases = []

    def add(kind, oracle, lo, hi, **kw):
        c = {"kind": kind, "oracle": oracle, "expect": {"lower": fl(lo), "upper": fl(hi)}}
        c.update(kw)
        cases.append(c)

    sm = {"wald": "normal", "wilson": "wilson", "agresti-coull": "agresti_coull", "clopper-pearson": "beta", "jeffreys": "jeffreys"}
    for (x, n) in [(0, 10), (1, 10), (5, 10), (10, 10), (3, 1000), (500, 1000), (1, 1000000), (999999, 1000000),
                   (37, 120), (0, 50000), (2, 7), (12345, 67890)]:
        for level in [0.95, 0.99, 0.8]:
            for m, smm in sm.items():
                lo, hi = proportion_confint(x, n, alpha=1 - level, method=smm)
                add("ci_proportion", f"statsmodels proportion_confint {smm}", lo, hi, x=x, n=n, level=level, method=m)
    for (x1, n1, x2, n2) in [(100, 1000, 120, 1000), (5, 200, 14, 210), (0, 50, 3, 60), (480, 500, 495, 500),
                             (20000, 1000000, 21500, 1000000), (30, 40, 10, 40)]:
        for level in [0.95, 0.9]:
            for m, smm in [("wald", "wald"), ("newcombe", "newcomb")]:
                lo, hi = confint_proportions_2indep(x2, n2, x1, n1, method=smm, compare="diff", alpha=1 - level)
                add("ci_proportion_diff", f"statsmodels confint_proportions_2indep {smm}", lo, hi,
                    x1=x1, n1=n1, x2=x2, n2=n2, level=level, method=m)
    for (m, s, n) in [(10, 2, 30), (0, 1, 2), (100, 15, 5000), (-3, 0.5, 7)]:
        for level in [0.95, 0.99]:
            lo, hi = stats.t.interval(level, n - 1, loc=m, scale=s / math.sqrt(n))
            add("ci_mean", "scipy t.interval", lo, hi, summary=[m, s, n], level=level)
    for (m1, s1, n1, m2, s2, n2) in [(10, 2, 30, 11, 2.5, 35), (5, 1, 3, 9, 4, 4), (100, 30, 2000, 101.5, 35, 1800)]:
        for level in [0.95, 0.9]:
            r = stats.ttest_ind_from_stats(m2, s2, n2, m1, s1, n1, equal_var=False)
            # scipy's result object exposes the Welch interval for the difference of means.
            v1, v2 = s1 ** 2 / n1, s2 ** 2 / n2
            df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
            h = stats.t.isf((1 - level) / 2, df) * math.sqrt(v1 + v2)
            add("ci_mean_diff", "scipy t.isf with Welch df", m2 - m1 - h, m2 - m1 + h,
                control=[m1, s1, n1], treatment=[m2, s2, n2], level=level)
    # Relative lift: delta method and Fieller, in numpy from the textbook formulas.
    for (m1, se1, m2, se2) in [(0.1, 0.003, 0.11, 0.0031), (50, 2, 55, 2.2), (1.0, 0.3, 1.4, 0.35), (0.02, 0.0005, 0.0195, 0.0005)]:
        for level in [0.95, 0.9]:
            z = stats.norm.isf((1 - level) / 2)
            lift = m2 / m1 - 1
            se = math.sqrt(se2 ** 2 / m1 ** 2 + m2 ** 2 * se1 ** 2 / m1 ** 4)
            add("ci_lift", "numpy delta method", lift - z * se, lift + z * se, m1=m1, se1=se1, m2=m2, se2=se2, level=level, method="delta")
            a = m1 ** 2 - z ** 2 * se1 ** 2
            b = -2 * m1 * m2
            c = m2 ** 2 - z ** 2 * se2 ** 2
            roots = np.sort(np.roots([a, b, c]).real)
            add("ci_lift", "numpy quadratic roots (Fieller)", roots[0] - 1, roots[1] - 1, m1=m1, se1=se1, m2=m2, se2=se2,
                level=level, method="fieller")
    write("intervals", cases, "Confidence intervals; differences are treatment minus control")


def gen_multiple():
    from statsmodels.stats.multitest import multipletests
    rng = np.random.default_rng(7)
    cases = []
    methods = {"bonferroni": "bonferroni", "sidak": "sidak", "holm": "holm", "hochberg": "simes-hochberg",
               "benjamini-hochberg": "fdr_bh", "benjamini-yekutieli": "fdr_by"}
    sets = [[0.01, 0.04, 0.03, 0.005], [0.2], [1e-12, 0.5, 0.049, 0.051, 0.9], [0.001] * 5]
    for k in range(10):
        m = [3, 8, 20, 50, 2, 100, 10, 6, 15, 30][k]
        p = np.concatenate([rng.uniform(0, 1, m - m // 3), rng.uniform(0, 1, m // 3) ** 6])
        sets.append(list(rng.permutation(p)))
    for p in sets:
        for alpha in [0.05, 0.1]:
            for name, smm in methods.items():
                rej, adj, _, _ = multipletests(p, alpha=alpha, method=smm)
                cases.append({"kind": "adjust", "oracle": f"statsmodels multipletests {smm}", "p_values": [fl(x) for x in p],
                              "method": name, "alpha": alpha,
                              "expect": {"adjusted": [fl(x) for x in adj], "reject": [bool(x) for x in rej]}})
    write("multiple", cases, "Multiple-testing corrections")


def gen_srm():
    cases = []
    for (obs, w) in [([50000, 50000], [1, 1]), ([50400, 49600], [1, 1]), ([10300, 9700], [0.5, 0.5]),
                     ([1000, 1100], [1, 1]), ([500000, 503000], [1, 1]), ([33000, 33500, 34000], [1, 1, 1]),
                     ([20000, 10400, 9800], [0.5, 0.25, 0.25]), ([100, 120, 90, 110], [1, 1, 1, 1]),
                     ([1000000, 1010000], [1, 1]), ([5000, 5600], [1, 1]), ([70000, 30500], [0.7, 0.3])]:
        tot = sum(obs)
        r = stats.chisquare(obs, [tot * x / sum(w) for x in w])
        cases.append({"kind": "srm", "oracle": "scipy chisquare", "counts": obs, "weights": w,
                      "expect": {"statistic": fl(r.statistic), "p_value": fl(r.pvalue)}})
    write("srm", cases, "Sample-ratio mismatch (chi-square goodness of fit)")


def moments(y, x):
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    return {"n": float(len(y)), "sum_y": fl(y.sum()), "sum_y2": fl((y * y).sum()), "sum_x": fl(x.sum()),
            "sum_x2": fl((x * x).sum()), "sum_xy": fl((x * y).sum())}


def gen_variance():
    """CUPED, ratio metrics and duration, computed in numpy from raw data."""
    from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail
    rng = np.random.default_rng(99)
    cases = []
    for k in range(8):
        n_c, n_t = [(500, 520), (2000, 1900), (50, 60), (10000, 10000), (300, 900), (80, 75), (5000, 4000), (40, 40)][k]
        rho = [0.3, 0.7, 0.5, 0.9, 0.1, 0.6, 0.8, 0.4][k]
        def draw(n, shift):
            x = rng.normal(10, 3, n)
            y = 5 + rho * (x - 10) + math.sqrt(1 - rho ** 2) * rng.normal(0, 3, n) + shift
            return y.round(4), x.round(4)
        yc, xc = draw(n_c, 0.0)
        yt, xt = draw(n_t, 0.3)
        ya, xa = np.concatenate([yc, yt]), np.concatenate([xc, xt])
        cov = np.cov(xa, ya)
        theta = cov[0, 1] / cov[0, 0]
        r = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
        adj_c = yc - theta * (xc - xa.mean())
        adj_t = yt - theta * (xt - xa.mean())
        est = adj_t.mean() - adj_c.mean()
        se = math.sqrt(adj_c.var(ddof=1) / n_c + adj_t.var(ddof=1) / n_t)
        lo, hi = est - stats.norm.isf(0.025) * se, est + stats.norm.isf(0.025) * se
        cases.append({"kind": "cuped", "oracle": "numpy (np.cov, adjusted unit values)", "control": moments(yc, xc),
                      "treatment": moments(yt, xt), "level": 0.95,
                      "expect": {"theta": fl(theta), "rho": fl(r), "estimate": fl(est), "std_error": fl(se),
                                 "p_value": fl(2 * stats.norm.sf(abs(est / se))), "lower": fl(lo), "upper": fl(hi)}})
        # Ratio metric: y = revenue, x = sessions per user.
        def draw_ratio(n, lift):
            sess = rng.poisson(3, n) + 1.0
            rev = sess * rng.gamma(2, 5 * (1 + lift), n) / 2
            return rev.round(3), sess
        rc, sc = draw_ratio(n_c, 0.0)
        rt, st = draw_ratio(n_t, 0.05)
        def ratio_var(y, x):
            R = y.sum() / x.sum()
            c = np.cov(x, y)
            return R, (c[1, 1] - 2 * R * c[0, 1] + R * R * c[0, 0]) / (len(y) * x.mean() ** 2)
        Rc, vc = ratio_var(rc, sc)
        Rt, vt = ratio_var(rt, st)
        lift_se = math.sqrt(vt / Rc ** 2 + Rt ** 2 * vc / Rc ** 4)
        cases.append({"kind": "ratio", "oracle": "numpy delta method (np.cov)", "control": moments(rc, sc),
                      "treatment": moments(rt, st), "level": 0.95,
                      "expect": {"difference": fl(Rt - Rc), "difference_se": fl(math.sqrt(vc + vt)), "lift": fl(Rt / Rc - 1),
                                 "lift_se": fl(lift_se), "p_value": fl(2 * stats.norm.sf(abs(Rt - Rc) / math.sqrt(vc + vt)))}})
    # Duration: statsmodels sample size at the corrected alpha, then days.
    for (p1, lift, daily, alloc, k, corr) in [(0.1, 0.01, 5000, 1.0, 2, "bonferroni"), (0.05, 0.005, 20000, 0.5, 3, "bonferroni"),
                                               (0.2, 0.02, 1000, 0.8, 4, "sidak"), (0.02, 0.002, 100000, 0.1, 2, "none"),
                                               (0.5, 0.05, 300, 1.0, 5, "bonferroni"), (0.3, 0.01, 50000, 0.25, 3, "sidak")]:
        m = k - 1
        a = {"bonferroni": 0.05 / m, "sidak": 1 - (1 - 0.05) ** (1 / m), "none": 0.05}[corr]
        n = samplesize_proportions_2indep_onetail(-lift, p1 + lift, 0.8, ratio=1, alpha=a, alternative="two-sided")
        n_int = math.ceil(n)
        days = n_int * k / (daily * alloc)
        cases.append({"kind": "duration", "oracle": "statsmodels samplesize_proportions_2indep_onetail at corrected alpha",
                      "baseline": p1, "treatment": p1 + lift, "daily_traffic": daily, "allocation": alloc, "variants": k,
                      "correction": corr, "power": 0.8, "alpha": 0.05,
                      "expect": {"n_per_group_exact": fl(n), "days_exact": fl(days), "alpha_per_comparison": fl(a)}})
    write("variance", cases, "CUPED, ratio metrics (delta method) and test duration")


def ld_boundaries(fr, alpha, two, spending):
    """Independent Lan-DeMets implementation: Gauss-Legendre (numpy) on each stage, brentq."""
    x, w = np.polynomial.legendre.leggauss(400)
    a_side = alpha / 2 if two else alpha
    def spend(t):
        if spending == "o-brien-fleming":
            return 2 * stats.norm.sf(stats.norm.isf(a_side / 2) / math.sqrt(t))
        return a_side * math.log(1 + (math.e - 1) * t)
    bounds, prev_cum = [], 0.0
    nodes = dens = None
    for k, t in enumerate(fr):
        cum = spend(t)
        target = cum - prev_cum
        st = math.sqrt(t)
        if k == 0:
            c = stats.norm.isf(target)
        else:
            sd = math.sqrt(t - fr[k - 1])
            c = optimize.brentq(lambda c: np.sum(dens * stats.norm.sf((c * st - nodes) / sd)) - target, 0, 40, xtol=1e-15, rtol=1e-15)
        bounds.append(c)
        prev_cum = cum
        hi = c * st
        lo = -hi if two else -abs(hi) - 12 * st
        s = (hi - lo) / 2 * x + (hi + lo) / 2
        if k == 0:
            f = stats.norm.pdf(s / st) / st
        else:
            sd = math.sqrt(t - fr[k - 1])
            f = (dens[None, :] * stats.norm.pdf((s[:, None] - nodes[None, :]) / sd) / sd).sum(axis=1)
        nodes, dens = s, f * w * (hi - lo) / 2
    return bounds


def gen_sequential():
    cases = []
    for K in [1, 2, 3, 4, 5, 8]:
        for spending in ["o-brien-fleming", "pocock"]:
            for sides, alpha in [("two-sided", 0.05), ("one-sided", 0.025), ("two-sided", 0.01)]:
                fr = [(i + 1) / K for i in range(K)]
                b = ld_boundaries(fr, alpha, sides == "two-sided", spending)
                cases.append({"kind": "lan_demets", "oracle": "numpy Gauss-Legendre recursion + scipy brentq",
                              "fractions": fr, "alpha": alpha, "sides": sides, "spending": spending,
                              "expect": {"z": [fl(v) for v in b]}})
    fr = [0.2, 0.45, 0.7, 1.0]
    for spending in ["o-brien-fleming", "pocock"]:
        b = ld_boundaries(fr, 0.05, True, spending)
        cases.append({"kind": "lan_demets", "oracle": "numpy Gauss-Legendre recursion + scipy brentq", "fractions": fr,
                      "alpha": 0.05, "sides": "two-sided", "spending": spending, "expect": {"z": [fl(v) for v in b]}})
    # mSPRT: GrowthBook's parametrisation (unit variance s2, n, tuning N*) against ours.
    rng = np.random.default_rng(3)
    for k in range(10):
        alpha = [0.05, 0.1, 0.01][k % 3]
        nstar = [5000, 1000, 20000][k % 3]
        s2 = float(rng.uniform(0.5, 4))
        ns = [int(v) for v in np.cumsum(rng.integers(200, 3000, 5))]
        delta = float(rng.normal(0, 0.05))
        rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / nstar
        looks, lrs, ps, los, his = [], [], [], [], []
        p, lo, hi = 1.0, -np.inf, np.inf
        for n in ns:
            est = delta + float(rng.normal(0, math.sqrt(s2 / n)))
            V, tau2 = s2 / n, rho2 * s2
            lr = math.sqrt(V / (V + tau2)) * math.exp(tau2 * est ** 2 / (2 * V * (V + tau2)))
            half = math.sqrt(s2) * math.sqrt((2 * (n * rho2 + 1)) / (n ** 2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
            p = min(p, 1 / lr, 1.0)
            lo, hi = max(lo, est - half), min(hi, est + half)
            looks.append({"estimate": est, "variance": V})
            lrs.append(lr); ps.append(p); los.append(lo); his.append(hi)
        cases.append({"kind": "msprt", "oracle": "numpy, GrowthBook sequential_interval_halfwidth form", "looks": looks,
                      "tau_sq": rho2 * s2, "alpha": alpha,
                      "expect": {"likelihood_ratio": lrs, "p_value": ps, "lower": los, "upper": his}})
    write("sequential", cases, "Lan-DeMets boundaries and mSPRT")


def gen_bayes():
    from scipy import integrate as si
    from scipy.special import betaln
    cases = []
    def p_b_beats_a_closed(aa, ba, ab, bb):
        # Evan Miller's closed form; needs an integer first shape for B.
        i = np.arange(0, int(ab))
        return float(np.sum(np.exp(betaln(aa + i, ba + bb) - np.log(bb + i) - betaln(1 + i, bb) - betaln(aa, ba))))
    def quad_prob(x, y):
        # P(X > Y) by adaptive quadrature over Y's bulk.
        lo, hi = stats.beta.ppf(1e-15, *y), stats.beta.isf(1e-15, *y)
        pts = list(np.linspace(lo, hi, 50))
        v, _ = si.quad(lambda u: stats.beta.pdf(u, *y) * stats.beta.sf(u, *x), lo, hi, epsabs=1e-15, epsrel=1e-12, limit=500, points=pts[1:-1])
        return v
    for (xa, na, xb, nb, pa, pb) in [(100, 1000, 120, 1000, 1, 1), (5, 50, 9, 50, 1, 1), (4000, 100000, 4150, 100000, 1, 1),
                                     (0, 20, 3, 20, 1, 1), (30, 40, 25, 40, 1, 1), (200, 10000, 260, 10000, 1, 1),
                                     (45, 500, 52, 480, 2, 8), (10, 100, 12, 100, 0.5, 0.5), (300, 1000, 280, 1000, 1, 1),
                                     (2, 1000, 12, 1000, 1, 1)]:
        A, B = (pa + xa, pb + na - xa), (pa + xb, pb + nb - xb)
        if float(B[0]).is_integer():
            prob, oracle = p_b_beats_a_closed(*A, *B), "closed form (Evan Miller) with scipy betaln"
        else:
            prob, oracle = quad_prob(B, A), "scipy integrate.quad"
        # Expected loss by a 2-D integral in scipy: E[max(A - B, 0)] = int f_A(a) E[(a - B)+] da.
        def excess(X, Y):
            lo, hi = stats.beta.ppf(1e-14, *X), stats.beta.isf(1e-14, *X)
            mY = Y[0] / (Y[0] + Y[1])
            inner = lambda a: a * stats.beta.cdf(a, *Y) - mY * stats.beta.cdf(a, Y[0] + 1, Y[1])
            v, _ = si.quad(lambda a: stats.beta.pdf(a, *X) * inner(a), lo, hi, epsabs=1e-16, epsrel=1e-12, limit=500,
                           points=list(np.linspace(lo, hi, 40))[1:-1])
            return v
        lo_a, hi_a = stats.beta.ppf(0.025, *A), stats.beta.isf(0.025, *A)
        lo_b, hi_b = stats.beta.ppf(0.025, *B), stats.beta.isf(0.025, *B)
        cases.append({"kind": "beta_binomial", "oracle": oracle + "; scipy quad for losses; scipy beta.ppf",
                      "x_a": xa, "n_a": na, "x_b": xb, "n_b": nb, "prior_a": pa, "prior_b": pb, "level": 0.95,
                      "expect": {"prob_b_beats_a": fl(prob), "expected_loss": fl(excess(A, B)), "expected_loss_a": fl(excess(B, A)),
                                 "a_lower": fl(lo_a), "a_upper": fl(hi_a), "b_lower": fl(lo_b), "b_upper": fl(hi_b)}})
    for (ma, sa, na, mb, sb, nb, prior) in [(10, 3, 500, 10.4, 3.2, 480, None), (0.5, 1, 50, 0.45, 1, 60, None),
                                            (100, 40, 10000, 101, 41, 10000, (100, 4.0)), (3, 2, 20, 4, 2, 25, (0, 1.0))]:
        def post(m, s, n):
            if prior is None:
                return m, s * s / n
            prec = n / s ** 2 + 1 / prior[1]
            return (m * n / s ** 2 + prior[0] / prior[1]) / prec, 1 / prec
        (pma, pva), (pmb, pvb) = post(ma, sa, na), post(mb, sb, nb)
        D = stats.norm(pmb - pma, math.sqrt(pva + pvb))
        loss = si.quad(lambda d: -d * D.pdf(d), -np.inf, 0, epsabs=1e-16, epsrel=1e-12)[0]
        loss_a = si.quad(lambda d: d * D.pdf(d), 0, np.inf, epsabs=1e-16, epsrel=1e-12)[0]
        cases.append({"kind": "bayes_normal", "oracle": "scipy norm + integrate.quad",
                      "a": {"mean": ma, "sd": sa, "n": na}, "b": {"mean": mb, "sd": sb, "n": nb}, "prior": prior, "level": 0.95,
                      "expect": {"prob_b_beats_a": fl(D.sf(0)), "expected_loss": fl(loss), "expected_loss_a": fl(loss_a)}})
    write("bayes", cases, "Bayesian A/B: beta-binomial and normal models")


if __name__ == "__main__":
    gen_variance()
    gen_sequential()
    gen_bayes()
    gen_power()
    gen_tests()
    gen_intervals()
    gen_multiple()
    gen_srm()
