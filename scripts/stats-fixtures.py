#!/usr/bin/env python3
"""Generate reference values for pkg/stats from independent implementations.

Writes pkg/stats/testdata/fixtures.json, which pkg/stats/fixtures_test.go
compares against (relative tolerance 1e-6 unless noted there).

References used (none of them share code with pkg/stats):
  * Welch t-test on raw data: statsmodels CompareMeans (ttest_ind and
    tconfint_diff with usevar="unequal"), cross-checked with scipy.stats.ttest_ind.
  * Welch t-test from moments (GrowthBook's binomial variance p(1-p)):
    scipy.stats.ttest_ind_from_stats and scipy's Welch-Satterthwaite df.
  * Two-proportion z-test: statsmodels proportions_ztest (pooled) and
    confint_proportions_2indep(method="wald").
  * Sample ratio mismatch: scipy.stats.chisquare.
  * Holm and Benjamini-Hochberg: statsmodels multipletests.
  * Beta-binomial: P(B > A), expected losses and credible-interval quantiles by
    adaptive quadrature (scipy.integrate.quad on scipy.special.betainc), with
    P(B > A) cross-checked against the exact finite sum (Evan Miller's formula,
    all terms, in log space) when a shape parameter is an integer.
  * Gaussian effect posterior: scipy.stats.norm and quadrature for the risks.
  * Power / sample size: statsmodels NormalIndPower.
  * Issue 14 decisions: log-ratio relative intervals (scipy t, cross-checked
    with statsmodels confint_proportions_2indep(compare="ratio", method="log")),
    scipy.stats.fisher_exact (two-sided, greater, less), statsmodels' Newcombe
    and log-adjusted small-arm intervals, scipy ttest_ind(alternative=) for
    one-sided and (on shifted data) non-inferiority tests, statsmodels
    test_proportions_2indep for relative non-inferiority, multipletests per
    role family.

Run with the Debian packages python3-scipy and python3-statsmodels:
    /usr/bin/python3 scripts/stats-fixtures.py
"""

import json
import math
import os
import sys

import numpy as np
import scipy
import statsmodels
from scipy import integrate, optimize, special, stats
from scipy.stats._stats_py import _unequal_var_ttest_denom
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest, test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pkg", "stats", "testdata", "fixtures.json")


def f(x):
    """Plain float for JSON (numpy scalars are not serialisable)."""
    return float(x)


# ---------------------------------------------------------------- Welch (raw data)


def welch_raw_cases():
    rng = np.random.default_rng(20240601)
    specs = [
        # n_control, n_treatment, distribution, control mean, treatment mean, scale
        (3, 4, "normal", 10.0, 11.0, 2.0),
        (10, 12, "normal", 10.0, 10.5, 1.0),
        (25, 40, "lognormal", 1.0, 1.2, 0.8),
        (100, 90, "exponential", 3.0, 3.3, None),
        (500, 520, "normal", -2.0, -1.9, 5.0),
        (2000, 1900, "poisson", 1.5, 1.55, None),
        (5000, 5100, "lognormal", 0.5, 0.52, 1.2),
        (50000, 49000, "normal", 100.0, 100.05, 15.0),
    ]
    cases = []
    for (n1, n2, dist, m1, m2, s) in specs:
        def draw(n, m):
            if dist == "normal":
                return rng.normal(m, s, n)
            if dist == "lognormal":
                return rng.lognormal(math.log(m), s, n)
            if dist == "exponential":
                return rng.exponential(m, n)
            return rng.poisson(m, n).astype(float)

        x1, x2 = draw(n1, m1), draw(n2, m2)
        for alpha in (0.05, 0.01, 0.2):
            cm = CompareMeans(DescrStatsW(x2), DescrStatsW(x1))
            t, p, df = cm.ttest_ind(usevar="unequal")
            lo, hi = cm.tconfint_diff(alpha=alpha, usevar="unequal")
            sp = stats.ttest_ind(x2, x1, equal_var=False)
            assert abs(sp.pvalue - p) < 1e-12 and abs(sp.statistic - t) < 1e-9
            cases.append({
                "control": {"n": n1, "sum": f(x1.sum()), "sum_squares": f((x1 * x1).sum())},
                "treatment": {"n": n2, "sum": f(x2.sum()), "sum_squares": f((x2 * x2).sum())},
                "alpha": alpha,
                "estimate": f(x2.mean() - x1.mean()),
                "t": f(t), "df": f(df), "p_value": f(p), "ci": [f(lo), f(hi)],
            })
    return cases


# ------------------------------------------------- Welch from moments (binomial)


def welch_binomial_cases():
    specs = [(28, 14, 30, 16), (100, 2, 100, 9), (1000, 100, 1000, 130), (3407, 300, 3461, 351),
             (20000, 400, 20100, 455), (250000, 12500, 250000, 12700), (50, 0, 60, 3), (80, 80, 75, 70)]
    cases = []
    for (n1, c1, n2, c2) in specs:
        p1, p2 = c1 / n1, c2 / n2
        v1, v2 = p1 * (1 - p1), p2 * (1 - p2)
        for alpha in (0.05, 0.01):
            res = stats.ttest_ind_from_stats(p2, math.sqrt(v2), n2, p1, math.sqrt(v1), n1, equal_var=False)
            df, denom = _unequal_var_ttest_denom(v2, n2, v1, n1)
            w = stats.t.ppf(1 - alpha / 2, df) * denom
            cases.append({
                "control": {"n": n1, "conversions": c1},
                "treatment": {"n": n2, "conversions": c2},
                "alpha": alpha,
                "estimate": f(p2 - p1), "df": f(df), "p_value": f(res.pvalue),
                "ci": [f(p2 - p1 - w), f(p2 - p1 + w)],
            })
    return cases


# ------------------------------------------------------------ proportion z-test


def ztest_cases():
    specs = [(44925, 500, 44910, 505), (1000, 100, 1000, 130), (200, 10, 210, 25), (5000, 250, 5000, 260),
             (30, 3, 35, 12), (100000, 2000, 100000, 2150)]
    cases = []
    for (n1, c1, n2, c2) in specs:
        z, p = proportions_ztest([c2, c1], [n2, n1])
        for alpha in (0.05, 0.1):
            lo, hi = confint_proportions_2indep(c2, n2, c1, n1, method="wald", compare="diff", alpha=alpha)
            cases.append({"control": {"n": n1, "conversions": c1}, "treatment": {"n": n2, "conversions": c2},
                          "alpha": alpha, "z": f(z), "p_value": f(p), "ci": [f(lo), f(hi)]})
    return cases


# ---------------------------------------------------------------------- SRM


def srm_cases():
    specs = [
        ([5000, 5000], [1, 1]),
        ([5000, 5200], [1, 1]),
        ([10150, 9850], [50, 50]),
        ([1000, 1000, 1000, 1000, 1130], [1, 1, 1, 1, 1]),
        ([8100, 1900], [80, 20]),
        ([315, 108, 101, 32], [9, 3, 3, 1]),
        ([123456, 123000, 250001], [1, 1, 2]),
        ([10, 20], [1, 1]),
    ]
    cases = []
    for obs, w in specs:
        tot = sum(obs)
        exp = [tot * wi / sum(w) for wi in w]
        chi2, p = stats.chisquare(obs, exp)
        cases.append({"observed": obs, "weights": w, "chi_square": f(chi2), "p_value": f(p), "df": len(obs) - 1})
    return cases


# ----------------------------------------------------- multiple comparisons


def correction_cases():
    # Benjamini & Hochberg (1995) section 4 example, plus ties, ones and small families.
    families = [
        [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528,
         0.7590, 1.0000],
        [0.01, 0.04, 0.03, 0.005],
        [0.02, 0.02, 0.02, 0.5, 1.0],
        [0.9, 0.8, 0.001],
        [0.04],
        list(np.random.default_rng(7).uniform(0, 0.2, 40)),
    ]
    cases = []
    for ps in families:
        holm = multipletests(ps, alpha=0.05, method="holm")[1]
        bh = multipletests(ps, alpha=0.05, method="fdr_bh")[1]
        cases.append({"p_values": [f(x) for x in ps], "holm": [f(x) for x in holm], "bh": [f(x) for x in bh]})
    return cases


# ------------------------------------------------------------- Beta-binomial

QUAD = dict(epsabs=1e-13, epsrel=1e-11, limit=1000)


def betaincc(a, b, x):
    """1 − I_x(a, b), evaluated as I_{1−x}(b, a) (scipy 1.10 has no betaincc)."""
    return special.betainc(b, a, 1.0 - x)


def beta_pdf(x, a, b):
    if x <= 0.0 or x >= 1.0:
        return 0.0
    return math.exp((a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - special.betaln(a, b))


def beta_support(a, b, eps=1e-16):
    return stats.beta.ppf(eps, a, b), stats.beta.isf(eps, a, b)


def integrate_over(a, b, g):
    """∫ Beta(a,b)-pdf(x) g(x) dx over the effective support, split at quantiles."""
    lo, hi = beta_support(a, b)
    pts = [lo] + [stats.beta.ppf(q, a, b) for q in (1e-9, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-4, 1 - 1e-9)] + [hi]
    pts = sorted(set(pts))
    tot = 0.0
    for x0, x1 in zip(pts[:-1], pts[1:]):
        if x1 > x0:
            tot += integrate.quad(lambda x: beta_pdf(x, a, b) * g(x), x0, x1, **QUAD)[0]
    return tot


def prob_greater_quad(aB, bB, aA, bA):
    """P(X_B > X_A) = ∫ f_A(x) (1 − I_x(aB, bB)) dx, integrating over the narrower one."""
    sA = math.sqrt(stats.beta.var(aA, bA))
    sB = math.sqrt(stats.beta.var(aB, bB))
    if sA <= sB:
        return integrate_over(aA, bA, lambda x: betaincc(aB, bB, x))
    return integrate_over(aB, bB, lambda y: special.betainc(aA, bA, y))


def prob_greater_sum(aB, bB, aA, bA):
    """Evan Miller's exact sum (requires integer aB), every term, in log space."""
    i = np.arange(int(aB))
    logt = special.betaln(aA + i, bA + bB) - np.log(bB + i) - special.betaln(1 + i, bB) - special.betaln(aA, bA)
    return float(np.exp(special.logsumexp(logt)))


def beta_cases():
    # (control conversions, control n, treatment conversions, treatment n, prior alpha, prior beta)
    specs = [
        (49, 100, 51, 100, 1, 1),
        (0, 10, 1, 10, 1, 1),
        (0, 1000, 0, 1000, 1, 1),
        (3, 100, 0, 100, 1, 1),
        (100, 100, 98, 100, 1, 1),
        (50, 1000, 60, 1000, 1, 1),
        (400, 20000, 455, 20100, 1, 1),
        (2000, 4000, 2100, 4000, 1, 1),
        (10000, 100000, 10200, 100000, 1, 1),
        (5, 40, 9, 41, 0.5, 0.5),
        (120, 3000, 100, 2900, 2.5, 7.5),
        (30, 60, 45, 70, 3, 3),
    ]
    cases = []
    alpha = 0.05
    for (c1, n1, c2, n2, a0, b0) in specs:
        aA, bA = a0 + c1, b0 + n1 - c1
        aB, bB = a0 + c2, b0 + n2 - c2
        muA, muB = aA / (aA + bA), aB / (aB + bB)
        ctw = prob_greater_quad(aB, bB, aA, bA)
        if float(aB).is_integer() and aB < 20000:
            exact = prob_greater_sum(aB, bB, aA, bA)
            assert abs(exact - ctw) < 1e-9, (exact, ctw)
        # E[(B − A)+] = ∫ f_A(x) E[(B − x)+] dx with E[(B − x)+] = μB·(1 − I_x(aB+1, bB)) − x·(1 − I_x(aB, bB))
        up = lambda x: muB * betaincc(aB + 1, bB, x) - x * betaincc(aB, bB, x)
        loss_control = integrate_over(aA, bA, up)
        loss_treatment = loss_control - (muB - muA)
        case = {"control": {"n": n1, "conversions": c1}, "treatment": {"n": n2, "conversions": c2},
                "prior": [a0, b0], "alpha": alpha, "chance_to_win": f(ctw),
                "abs_risk": [f(loss_control), f(loss_treatment)]}

        def cdf_diff(d):  # P(B − A ≤ d) = ∫ f_A(x) I_{x+d}(B) dx
            return integrate_over(aA, bA, lambda x: special.betainc(aB, bB, min(max(x + d, 0.0), 1.0)))

        sd = math.sqrt(stats.beta.var(aA, bA) + stats.beta.var(aB, bB))
        q = []
        for p in (alpha / 2, 1 - alpha / 2):
            q.append(f(optimize.brentq(lambda d: cdf_diff(d) - p, -1, 1, xtol=1e-14 * sd + 1e-300, rtol=1e-13)))
        case["abs_ci"] = q
        if aA > 2:
            # E[(B/A − 1)+] = ∫ f_A(x) E[(B − x)+]/x dx
            loss_rel_control = integrate_over(aA, bA, lambda x: up(x) / x)
            rel_mean = muB * (aA + bA - 1) / (aA - 1) - 1
            case["rel_risk"] = [f(loss_rel_control), f(loss_rel_control - rel_mean)]

            def cdf_ratio(r):  # P(B/A − 1 ≤ r) = ∫ f_A(x) I_{(1+r)x}(B) dx
                return integrate_over(aA, bA, lambda x: special.betainc(aB, bB, min((1 + r) * x, 1.0)))

            q = []
            for p in (alpha / 2, 1 - alpha / 2):
                q.append(f(optimize.brentq(lambda r: cdf_ratio(r) - p, -1 + 1e-12, 1e3, xtol=1e-13, rtol=1e-13)))
            case["rel_ci"] = q
        cases.append(case)
    # Direct checks of P(X > Y) for shapes where one closed form is the slow or heavy-tailed kind.
    direct = []
    for (xa, xb, ya, yb) in [(3, 2, 2, 3), (1, 1, 1, 1), (2, 1, 1, 2), (1.5, 2.5, 2.5, 1.5), (700, 3, 690, 5),
                             (5, 7000, 4, 6000), (0.5, 100.5, 2.5, 98.5), (200001, 800001, 200501, 799501)]:
        direct.append({"x": [xa, xb], "y": [ya, yb], "p": f(prob_greater_quad(xa, xb, ya, yb))})
    return cases, direct


# ------------------------------------------------------ Gaussian effect posterior


def gaussian_cases():
    cases = []
    for (mu, sigma, alpha) in [(0.05, 0.0357, 0.05), (-0.2, 0.1, 0.05), (1e-4, 0.02, 0.1), (3.0, 0.5, 0.01), (0.0, 1.0, 0.05)]:
        ctw = stats.norm.sf(0, mu, sigma)
        pos = integrate.quad(lambda x: x * stats.norm.pdf(x, mu, sigma), 0, np.inf, epsabs=1e-14, epsrel=1e-12)[0]
        neg = integrate.quad(lambda x: -x * stats.norm.pdf(x, mu, sigma), -np.inf, 0, epsabs=1e-14, epsrel=1e-12)[0]
        lo, hi = stats.norm.ppf([alpha / 2, 1 - alpha / 2], mu, sigma)
        cases.append({"mean": mu, "std_dev": sigma, "alpha": alpha, "chance_to_win": f(ctw),
                      "risk": [f(pos), f(neg)], "ci": [f(lo), f(hi)]})
    return cases


# --------------------------------------------------------------------- power


def power_cases():
    nip = NormalIndPower()
    cases = []
    for (p1, mde, alpha, power) in [(0.1, 0.1, 0.05, 0.8), (0.02, 0.2, 0.05, 0.9), (0.5, 0.02, 0.01, 0.8), (0.3, 0.05, 0.1, 0.7)]:
        p2 = p1 * (1 + mde)
        es = (p2 - p1) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
        n = nip.solve_power(effect_size=es, alpha=alpha, power=power, ratio=1, alternative="two-sided")
        n_fixed = 5000
        pw = nip.power(effect_size=es, nobs1=n_fixed, alpha=alpha, ratio=1, alternative="two-sided")

        def gap(d):
            q = p1 + d
            e = d / math.sqrt((p1 * (1 - p1) + q * (1 - q)) / 2)
            return nip.power(effect_size=e, nobs1=n_fixed, alpha=alpha, ratio=1, alternative="two-sided") - power

        dmin = optimize.brentq(gap, 1e-9, 1 - p1 - 1e-9, xtol=1e-15, rtol=1e-14)
        cases.append({"kind": "binomial", "baseline_rate": p1, "relative_mde": mde, "alpha": alpha, "power": power,
                      "units_per_arm_exact": f(n), "units_per_arm": n_fixed, "power_at_units": f(pw),
                      "absolute_mde_at_units": f(dmin)})
    for (mean, sd, mde, alpha, power) in [(10.0, 4.0, 0.05, 0.05, 0.8), (2.5, 10.0, 0.1, 0.01, 0.9), (100.0, 30.0, 0.01, 0.05, 0.8)]:
        es = mde * mean / sd
        n = nip.solve_power(effect_size=es, alpha=alpha, power=power, ratio=1, alternative="two-sided")
        n_fixed = 2000
        pw = nip.power(effect_size=es, nobs1=n_fixed, alpha=alpha, ratio=1, alternative="two-sided")
        # solve_power's effect-size solver stops early (~1e-5 relative), so solve tightly with brentq.
        es_min = optimize.brentq(lambda e: nip.power(effect_size=e, nobs1=n_fixed, alpha=alpha, ratio=1,
                                                     alternative="two-sided") - power, 1e-6, 10, xtol=1e-15, rtol=1e-14)
        cases.append({"kind": "mean", "baseline_mean": mean, "baseline_std_dev": sd, "relative_mde": mde,
                      "alpha": alpha, "power": power, "units_per_arm_exact": f(n), "units_per_arm": n_fixed,
                      "power_at_units": f(pw), "absolute_mde_at_units": f(es_min * sd)})
    return cases


# ---------------------------------------------------------------------- CUPED


def cuped_cases():
    """Regression adjustment on simulated raw data: statsmodels OLS of y on
    the arm indicators and x gives theta (the coefficient of x) and each
    adjusted difference (the coefficient of the arm); numpy gives the
    per-arm variances of y - theta*x and the correlation of the centred
    data; scipy's t distribution the Welch test of the adjusted means."""
    import statsmodels.api as sm

    rng = np.random.default_rng(20261206)
    specs = [
        # arm sizes, correlation, treatment effects, outcome kind
        ((400, 420), 0.7, [0.0, 0.3], "normal"),
        ((1000, 950), 0.4, [0.0, 0.1], "lognormal"),
        ((3000, 3100), 0.5, [0.0, 0.02], "binary"),
        ((500, 480, 510), 0.8, [0.0, 0.2, -0.1], "normal"),
        ((800, 800), 0.6, [0.0, 0.15], "missing"),
    ]
    cases = []
    alpha = 0.05
    for sizes, rho, effects, kind in specs:
        xs, ys = [], []
        for n, eff in zip(sizes, effects):
            z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
            x = 10 + 3 * z1
            e = rho * z1 + math.sqrt(1 - rho * rho) * z2
            if kind == "lognormal":
                y = np.exp(1 + 0.5 * e + eff)
            elif kind == "binary":
                y = (rng.random(n) < 0.2 + 0.08 * e + eff).astype(float)
            else:
                y = 5 + 2 * e + eff
            if kind == "missing":
                # A third of the users sent no covariate: x = 0.
                x = np.where(rng.random(n) < 1 / 3, 0.0, x)
            xs.append(np.round(x, 4))
            ys.append(np.round(y, 4))
        arm = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        design = np.column_stack([np.ones(len(x_all))] + [(arm == i).astype(float) for i in range(1, len(xs))] + [x_all])
        fit = sm.OLS(y_all, design).fit()
        theta = fit.params[-1]
        xc = np.concatenate([x - x.mean() for x in xs])
        yc = np.concatenate([y - y.mean() for y in ys])
        corr = np.corrcoef(xc, yc)[0, 1]
        adj_means = [y.mean() - theta * (x.mean() - x_all.mean()) for x, y in zip(xs, ys)]
        adj_vars = [np.var(y - theta * x, ddof=1) for x, y in zip(xs, ys)]
        comparisons = []
        for t in range(1, len(xs)):
            nc, nt = len(xs[0]), len(xs[t])
            a, b = adj_vars[t] / nt, adj_vars[0] / nc
            se = math.sqrt(a + b)
            df = (a + b) ** 2 / (a * a / (nt - 1) + b * b / (nc - 1))
            est = adj_means[t] - adj_means[0]
            w = stats.t.ppf(1 - alpha / 2, df) * se
            unadj_var = np.var(ys[t], ddof=1) / nt + np.var(ys[0], ddof=1) / nc
            comparisons.append({
                "treatment": t, "estimate": f(est), "ols_estimate": f(fit.params[t]), "std_err": f(se),
                "ols_std_err": f(fit.bse[t]), "df": f(df), "p_value": f(2 * stats.t.sf(abs(est / se), df)),
                "ci": [f(est - w), f(est + w)], "variance_reduction": f(1 - se * se / unadj_var),
            })
        cases.append({
            "kind": kind, "alpha": alpha,
            "arms": [{"n": len(x), "sum": f(y.sum()), "sum_squares": f((y * y).sum()), "covariate_sum": f(x.sum()),
                      "covariate_sum_squares": f((x * x).sum()), "sum_products": f((x * y).sum())}
                     for x, y in zip(xs, ys)],
            "theta": f(theta), "correlation": f(corr),
            "adjusted_means": [f(m) for m in adj_means], "adjusted_variances": [f(v) for v in adj_vars],
            "comparisons": comparisons,
        })
    return cases


# ------------------------------------- issue 14: sound frequentist decisions


def log_ratio_t(m1, v1, n1, m2, v2, n2):
    """log(m2/m1) with delta-method variance and Welch df from its two terms (treatment 2, control 1)."""
    a, b = v2 / (n2 * m2 * m2), v1 / (n1 * m1 * m1)
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n2 - 1) + b * b / (n1 - 1))
    return math.log(m2 / m1), se, df


def log_ratio_cases():
    """Relative lift intervals exp(log ratio ± t·se) − 1 and p-values, for binomial
    arms (variance p(1−p)) and raw mean data; binomial cases also carry the
    normal-theory interval and p-value of statsmodels' independent "log" method."""
    cases = []
    for (n1, c1, n2, c2) in [(1000, 100, 1000, 130), (3407, 300, 3461, 351), (20000, 200, 20100, 245),
                             (500, 20, 520, 35), (250000, 12500, 250000, 12700), (300, 150, 310, 170)]:
        p1, p2 = c1 / n1, c2 / n2
        est, se, df = log_ratio_t(p1, p1 * (1 - p1), n1, p2, p2 * (1 - p2), n2)
        for alpha in (0.05, 0.01):
            w = stats.t.ppf(1 - alpha / 2, df) * se
            lo, hi = confint_proportions_2indep(c2, n2, c1, n1, method="log", compare="ratio", alpha=alpha)
            pn = test_proportions_2indep(c2, n2, c1, n1, method="log", compare="ratio").pvalue
            cases.append({"kind": "binomial", "control": {"n": n1, "sum": c1, "sum_squares": c1},
                          "treatment": {"n": n2, "sum": c2, "sum_squares": c2}, "alpha": alpha,
                          "estimate": f(p2 / p1 - 1), "df": f(df), "p_value": f(2 * stats.t.sf(abs(est / se), df)),
                          "ci": [f(math.expm1(est - w)), f(math.expm1(est + w))],
                          "ci_normal": [f(lo - 1), f(hi - 1)], "p_value_normal": f(pn)})
    rng = np.random.default_rng(20261206)
    for (n1, n2, m1, m2) in [(40, 35, 2.0, 2.6), (300, 320, 5.0, 5.4), (5000, 5100, 1.0, 1.03)]:
        x1, x2 = rng.exponential(m1, n1), rng.exponential(m2, n2)
        est, se, df = log_ratio_t(x1.mean(), x1.var(ddof=1), n1, x2.mean(), x2.var(ddof=1), n2)
        for alpha in (0.05, 0.2):
            w = stats.t.ppf(1 - alpha / 2, df) * se
            cases.append({"kind": "mean", "control": {"n": n1, "sum": f(x1.sum()), "sum_squares": f((x1 * x1).sum())},
                          "treatment": {"n": n2, "sum": f(x2.sum()), "sum_squares": f((x2 * x2).sum())}, "alpha": alpha,
                          "estimate": f(x2.mean() / x1.mean() - 1), "df": f(df),
                          "p_value": f(2 * stats.t.sf(abs(est / se), df)),
                          "ci": [f(math.expm1(est - w)), f(math.expm1(est + w))]})
    return cases


def exact_cases():
    """Fisher's exact test (scipy) and the small-arm intervals (statsmodels
    Newcombe hybrid score for the difference, log-adjusted for the ratio),
    including issue 14's examples 15/15 vs 6/24 and 0/21 vs 6/24."""
    cases = []
    for (nc, xc, nt, xt) in [(24, 6, 15, 15), (24, 6, 21, 0), (10, 1, 12, 5), (1000, 3, 1000, 12), (50, 0, 60, 3),
                             (80, 80, 75, 70), (200, 9, 210, 25), (5000, 4, 5200, 9), (30, 29, 30, 30),
                             (1000000, 5, 1000000, 9), (2000, 9, 2100, 30), (100000, 3, 90000, 40000)]:
        table = [[xt, nt - xt], [xc, nc - xc]]
        case = {"control": {"n": nc, "conversions": xc}, "treatment": {"n": nt, "conversions": xt}}
        for alt in ("two-sided", "greater", "less"):
            case["fisher_" + alt.replace("-", "_")] = f(stats.fisher_exact(table, alternative=alt)[1])
        for alpha in (0.05, 0.1):
            lo, hi = confint_proportions_2indep(xt, nt, xc, nc, method="newcomb", compare="diff", alpha=alpha)
            case["newcombe_%g" % alpha] = [f(lo), f(hi)]
            if xc > 0:
                lo, hi = confint_proportions_2indep(xt, nt, xc, nc, method="log-adjusted", compare="ratio", alpha=alpha)
                case["log_adjusted_%g" % alpha] = [f(lo - 1), f(hi - 1)]
        cases.append(case)
    return cases


def one_sided_cases():
    """One-sided Welch t-tests (scipy, alternative=) and non-inferiority tests:
    absolute ones as a Welch test of x_t + margin·mean(x_c) against x_c
    (the control mean taken as known), relative ones on proportions with
    statsmodels' test_proportions_2indep(compare="ratio", method="log", value=1∓margin)."""
    rng = np.random.default_rng(14)
    cases = []
    for (n1, n2, m1, m2, margin) in [(50, 60, 10.0, 10.8, 0.05), (400, 380, 3.0, 2.9, 0.02), (2000, 2100, 1.0, 1.0, 0.01)]:
        x1, x2 = rng.exponential(m1, n1), rng.exponential(m2, n2)
        shift = margin * abs(x1.mean())
        case = {"control": {"n": n1, "sum": f(x1.sum()), "sum_squares": f((x1 * x1).sum())},
                "treatment": {"n": n2, "sum": f(x2.sum()), "sum_squares": f((x2 * x2).sum())}, "margin": margin}
        for alt in ("greater", "less"):
            case["p_" + alt] = f(stats.ttest_ind(x2, x1, equal_var=False, alternative=alt).pvalue)
        # higher is better: H0 μt − μc ≤ −shift; lower is better: H0 μt − μc ≥ +shift.
        case["ni_higher_better"] = f(stats.ttest_ind(x2 + shift, x1, equal_var=False, alternative="greater").pvalue)
        case["ni_lower_better"] = f(stats.ttest_ind(x2 - shift, x1, equal_var=False, alternative="less").pvalue)
        cases.append(case)
    ratio = []
    for (n1, c1, n2, c2, margin) in [(10000, 1000, 10000, 990, 0.05), (5000, 400, 5100, 380, 0.02), (20000, 600, 20000, 640, 0.1)]:
        hb = test_proportions_2indep(c2, n2, c1, n1, value=1 - margin, method="log", compare="ratio", alternative="larger").pvalue
        lb = test_proportions_2indep(c2, n2, c1, n1, value=1 + margin, method="log", compare="ratio", alternative="smaller").pvalue
        ratio.append({"control": {"n": n1, "conversions": c1}, "treatment": {"n": n2, "conversions": c2}, "margin": margin,
                      "ni_higher_better": f(hb), "ni_lower_better": f(lb)})
    return cases, ratio


def family_cases():
    """Per-role correction families: Analyze on binomial metrics with roles; the
    expected adjusted p-values are the log-ratio p-values adjusted by
    multipletests within each role (primary, secondary, guardrail separately)."""
    metrics = [("a", "primary", 10000, 1000, 10000, 1090), ("b", "primary", 10000, 500, 10000, 560),
               ("c", "secondary", 10000, 2000, 10000, 2100), ("d", "secondary", 10000, 300, 10000, 345),
               ("e", "secondary", 10000, 800, 10000, 795), ("f", "guardrail", 10000, 900, 10000, 905),
               ("g", "guardrail", 10000, 100, 10000, 112)]
    margin = 0.05
    ps = []
    for (_, role, n1, c1, n2, c2) in metrics:
        p1, p2 = c1 / n1, c2 / n2
        est, se, df = log_ratio_t(p1, p1 * (1 - p1), n1, p2, p2 * (1 - p2), n2)
        if role == "guardrail":  # non-inferiority, higher is better
            ps.append(f(stats.t.sf((est - math.log(1 - margin)) / se, df)))
        else:
            ps.append(f(2 * stats.t.sf(abs(est / se), df)))
    out = {"margin": margin, "metrics": [], "p_values": ps}
    for method, key in (("holm", "holm"), ("fdr_bh", "bh")):
        adj = [None] * len(metrics)
        for role in ("primary", "secondary", "guardrail"):
            idx = [i for i, m in enumerate(metrics) if m[1] == role]
            res = multipletests([ps[i] for i in idx], alpha=0.05, method=method)[1]
            for i, v in zip(idx, res):
                adj[i] = f(v)
        out[key] = adj
    for (k, role, n1, c1, n2, c2) in metrics:
        out["metrics"].append({"key": k, "role": role, "control": {"n": n1, "conversions": c1},
                               "treatment": {"n": n2, "conversions": c2}})
    return out

# ---------------------------------- issue 14: Bayesian decisions, sequential tuning


def bayes_decision_cases():
    """Verdicts of pkg/stats' Bayesian rule, computed independently: a variant
    wins (loses) when the posterior tail probability 2·min(chance, 1−chance),
    adjusted with statsmodels multipletests (holm, fdr_bh) across the
    variants, is below alpha and the relative risk of shipping it (of keeping
    the control) is at most the threshold. Mean metrics: flat prior, posterior
    of the log ratio N(log(mt/mc), delta-method variance), chance from
    scipy.stats.norm, risks of the lift e^L − 1 by quadrature. Binomial metrics: Beta(1 + c, 1 + n − c) posteriors,
    chance and relative risks by quadrature (prob_greater_quad, integrate_over)."""
    alpha = 0.05
    three = [(5000, 10.45, 8.0), (5000, 9.9, 8.0), (5000, 10.36, 8.0)]
    specs = [
        ("mean", "none", 0.0025, (5000, 10.0, 8.0), three),
        ("mean", "holm", 0.0025, (5000, 10.0, 8.0), three),
        ("mean", "bh", 0.0025, (5000, 10.0, 8.0), three),
        ("mean", "none", 0.0025, (20, 10.0, 10.0), [(20, 20.0, 10.0)]),   # chance 97.7%, risk too high
        ("mean", "none", 0.05, (20, 10.0, 10.0), [(20, 20.0, 10.0)]),
        ("mean", "none", 0.0025, (6, 10.0, 10.0), [(6, 1.67, 10.0)]),     # a loser's risk of keeping control
        ("binomial", "none", 0.0025, (4000, 400), [(4000, 470), (4000, 345), (4000, 430)]),
        ("binomial", "holm", 0.0025, (4000, 400), [(4000, 470), (4000, 345), (4000, 430)]),
        ("binomial", "none", 0.0025, (40, 8), [(40, 17)]),
        ("binomial", "none", 0.0025, (12, 3), [(12, 9)]),
    ]
    cases = []
    for (kind, corr, threshold, ctl, variants) in specs:
        ctws, risks, stats_ = [], [], []
        if kind == "mean":
            def moments(n, mean, sd):
                s, ss = n * mean, sd * sd * (n - 1) + n * mean * mean
                m = s / n
                return {"n": n, "sum": s, "sum_squares": ss}, m, (ss - s * s / n) / (n - 1)
            sc, mc, vc = moments(*ctl)
            stats_.append(sc)
            for v in variants:
                st, mt, vt = moments(*v)
                stats_.append(st)
                # Posterior of L = log(mt/mc): N(log ratio, delta-method variance);
                # the relative lift is e^L − 1 (risks by quadrature over L).
                est = math.log(mt / mc)
                sd = math.sqrt(vt / (mt * mt * v[0]) + vc / (mc * mc * ctl[0]))
                ctws.append(stats.norm.sf(0, est, sd))
                # ±40 sd holds all the mass (e^x overflows on an infinite range).
                lo, hi = min(est - 40 * sd, 0), max(est + 40 * sd, 0)
                pos = integrate.quad(lambda x: math.expm1(x) * stats.norm.pdf(x, est, sd), 0, hi, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
                neg = integrate.quad(lambda x: -math.expm1(x) * stats.norm.pdf(x, est, sd), lo, 0, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
                risks.append((pos, neg))
        else:
            n1, c1 = ctl
            aA, bA = 1 + c1, 1 + n1 - c1
            stats_.append({"n": n1, "sum": c1, "sum_squares": c1})
            for (n2, c2) in variants:
                stats_.append({"n": n2, "sum": c2, "sum_squares": c2})
                aB, bB = 1 + c2, 1 + n2 - c2
                muB = aB / (aB + bB)
                ctws.append(prob_greater_quad(aB, bB, aA, bA))
                up = lambda x: muB * betaincc(aB + 1, bB, x) - x * betaincc(aB, bB, x)
                loss_c = integrate_over(aA, bA, lambda x: up(x) / x)
                rel_mean = muB * (aA + bA - 1) / (aA - 1) - 1
                risks.append((loss_c, loss_c - rel_mean))
        tails = [2 * min(c, 1 - c) for c in ctws]
        adj = tails if corr == "none" else list(multipletests(tails, method={"holm": "holm", "bh": "fdr_bh"}[corr])[1])
        verdicts = []
        for c, (rc, rt), p in zip(ctws, risks, adj):
            v = "inconclusive"
            if p < alpha and c > 0.5 and rt <= threshold:
                v = "winner"
            elif p < alpha and c < 0.5 and rc <= threshold:
                v = "loser"
            verdicts.append(v)
        cases.append({"kind": kind, "correction": corr, "risk_threshold": threshold, "alpha": alpha, "stats": stats_,
                      "chance_to_win": [f(c) for c in ctws], "relative_risk": [[f(a), f(b)] for a, b in risks],
                      "verdicts": verdicts})
    return cases


def sequential_tuning_cases():
    """The narrowest half-width (per unit sqrt(v·n)) of the Waudby-Smith et al.
    confidence sequence (eq. 9) at total sample n over all mixing parameters
    ρ², found by scipy's bounded scalar minimisation, to show that tuning at
    the planned n (eq. 161) is close to the best possible there."""
    cases = []
    for alpha in (0.01, 0.05, 0.1):
        for n in (2000.0, 5000.0, 20000.0, 200000.0, 2e6):
            def hw(log_rho2):
                r2 = math.exp(log_rho2)
                nr = n * r2 + 1
                return math.sqrt(2 * nr / (n * n * r2) * math.log(math.sqrt(nr) / alpha))
            res = optimize.minimize_scalar(hw, bounds=(math.log(1e-3 / n), math.log(1e3 / n)), method="bounded",
                                           options={"xatol": 1e-12})
            cases.append({"alpha": alpha, "n": n, "min_half_width": f(hw(res.x))})
    return cases


def main():
    beta, beta_direct = beta_cases()
    one_sided = one_sided_cases()
    doc = {
        "generator": "scripts/stats-fixtures.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__},
        "welch_raw": welch_raw_cases(),
        "welch_binomial": welch_binomial_cases(),
        "proportion_ztest": ztest_cases(),
        "srm": srm_cases(),
        "corrections": correction_cases(),
        "beta_binomial": beta,
        "beta_prob_greater": beta_direct,
        "gaussian_posterior": gaussian_cases(),
        "power": power_cases(),
        "bayes_decision": bayes_decision_cases(),
        "sequential_tuning": sequential_tuning_cases(),
        "cuped": cuped_cases(),
        "log_ratio": log_ratio_cases(),
        "exact": exact_cases(),
        "one_sided": one_sided[0],
        "non_inferiority_ratio": one_sided[1],
        "families": family_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
