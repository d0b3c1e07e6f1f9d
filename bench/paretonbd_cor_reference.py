#!/usr/bin/env python3
"""Correlated Pareto/NBD individual log-likelihoods (mpmath), the reference for
tenure-models' paretonbd_cor.rs. usage: bench/.venv/bin/python bench/paretonbd_cor_reference.py
(venv from bench/requirements-lifetimes.txt, which pins mpmath 1.3.0).

Independent of Tenure's evaluation (four Pareto/NBD likelihoods through Gauss 2F1 tails): here
the likelihood is the defining double integral over the purchase rate λ and the dropout rate μ,

  L = ∫∫ P(x, t_x, T | λ, μ) g(λ; r, α) h(μ; s, β) [1 + ω (e^{−λ} − L1)(e^{−μ} − L2)] dλ dμ,
  P(x, t_x, T | λ, μ) = λ^x [ e^{−(λ+μ)T} + μ/(λ+μ) (e^{−(λ+μ)t_x} − e^{−(λ+μ)T}) ],

g, h gamma densities (shape, rate), L1 = (α/(α+1))^r, L2 = (β/(β+1))^s (Sarmanov; Glady,
Lemmens & Croux 2015), by nested mpmath.quad (tanh-sinh) at 20 digits, the λ-range split
around the mode of λ^x g(λ) e^{−λT}. Writes testdata/paretonbd_cor/loglik_mpmath.csv."""
import os
import mpmath as mp

mp.mp.dps = 20
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out_dir = os.path.join(root, "testdata", "paretonbd_cor")
os.makedirs(out_dir, exist_ok=True)
out = os.path.join(out_dir, "loglik_mpmath.csv")

def bounds(r, al, s, be):
    l1 = (al / (al + 1)) ** r
    l2 = (be / (be + 1)) ** s
    lo = -1 / max((1 - l1) * (1 - l2), l1 * l2)
    hi = 1 / max(l1 * (1 - l2), (1 - l1) * l2)
    return l1, l2, lo, hi

def lnL(r, al, s, be, om, x, tx, T):
    x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
    l1, l2, _, _ = bounds(r, al, s, be)
    lg = lambda lam: r * mp.log(al) + (r - 1) * mp.log(lam) - al * lam - mp.loggamma(r)
    lh = lambda mu: s * mp.log(be) + (s - 1) * mp.log(mu) - be * mu - mp.loggamma(s)

    def inner(lam):
        def f(mu):
            tot = lam + mu
            p = mp.exp(-tot * T) + mu / tot * (mp.exp(-tot * tx) - mp.exp(-tot * T))
            w = 1 + om * (mp.exp(-lam) - l1) * (mp.exp(-mu) - l2)
            return p * w * mp.exp(lh(mu))
        return mp.quad(f, [0, s / (be + T), 1, mp.inf])

    mode = max((r + x - 1) / (al + tx), mp.mpf("1e-6"))
    pts = [0, mode / 4, mode, 4 * mode, 16 * mode + 1, mp.inf]
    val = mp.quad(lambda lam: lam ** x * mp.exp(lg(lam)) * inner(lam), pts)
    return mp.log(val)

params = [
    # r, alpha, s, beta, and where ω sits in its bounds: 0 = independent, ±0.8 of a bound
    ("0.9", "1.0", "0.8", "2.0"),
    ("2.5", "4.0", "0.5", "0.7"),
    ("0.55", "10.6", "0.61", "11.7"),
]
positions = ["0", "0.8hi", "0.8lo"]
rows = [(0, 0, 2), (1, 0.5, 3), (4, 2.5, 3), (15, 4.8, 5), (2, 30, 38)]

with open(out, "w") as fh:
    fh.write(f"# Correlated Pareto/NBD individual log-likelihoods, mpmath {mp.__version__} at 20 digits, nested quadrature of the defining integral (bench/paretonbd_cor_reference.py).\n")
    fh.write("r,alpha,s,beta,omega,x,t_x,T,loglik\n")
    for p in params:
        r, al, s, be = map(mp.mpf, p)
        _, _, lo, hi = bounds(r, al, s, be)
        for pos in positions:
            om = mp.mpf(0) if pos == "0" else (mp.mpf("0.8") * (hi if pos.endswith("hi") else lo))
            om_s = mp.nstr(om, 20)
            om = mp.mpf(om_s)
            for (x, tx, T) in rows:
                v = lnL(r, al, s, be, om, x, tx, T)
                fh.write(",".join(p) + f",{om_s},{x},{tx},{T},{mp.nstr(v, 25)}\n")
                fh.flush()
print("wrote", out)
