#!/usr/bin/env python3
"""GGom/NBD individual log-likelihoods at 50 digits (mpmath), the reference for
tenure-models' ggomnbd.rs. usage: bench/.venv/bin/python bench/ggomnbd_reference.py
(venv from bench/requirements-lifetimes.txt, which pins mpmath 1.3.0).

ln L(x, t_x, T) = lnΓ(r+x) − lnΓ(r) + r ln α + ln[ S(T)(α+T)^−(r+x) + ∫_{t_x}^T f(τ)(α+τ)^−(r+x) dτ ],
S(τ) = (β/(β−1+e^{bτ}))^s, f(τ) = b s β^s e^{bτ}/(β−1+e^{bτ})^{s+1} (Bemmaor & Glady 2012; CLVTools).
The integral by mpmath.quad (tanh-sinh) at 60 digits, split at interior points so the peak
of a large-x integrand near t_x is resolved. Writes testdata/ggomnbd/ggomnbd_loglik_mpmath.csv."""
import os
import mpmath as mp

mp.mp.dps = 60
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "testdata", "ggomnbd", "ggomnbd_loglik_mpmath.csv")

params = [
    # r, alpha, b, s, beta
    ("0.55", "10.6", "0.0001", "0.6", "0.001"),   # near Pareto/NBD (b small, beta*b moderate)
    ("0.25", "4.4", "0.05", "1.2", "3.0"),         # steady Gompertz ageing
    ("2.0", "1.5", "0.5", "0.3", "0.05"),          # fast ageing: b*T in the hundreds
    ("0.8", "20.0", "0.01", "5.0", "50.0"),        # beta > 1, strong heterogeneity
]
rows = [(0, 0, 30), (1, 5, 38), (4, 30.5, 38), (25, 37, 38), (300, 90, 100), (2000, 480, 500), (3, 0.5, 1000)]

def lnL(r, al, b, s, be, x, tx, T):
    x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
    S = lambda t: (be / (be - 1 + mp.exp(b * t))) ** s
    f = lambda t: b * s * be ** s * mp.exp(b * t) / (be - 1 + mp.exp(b * t)) ** (s + 1)
    alive = S(T) * (al + T) ** (-(r + x))
    if T > tx:
        pts = [tx + (T - tx) * mp.mpf(k) / 64 for k in range(65)]
        dead = mp.quad(lambda t: f(t) * (al + t) ** (-(r + x)), pts)
    else:
        dead = 0
    return mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(al) + mp.log(alive + dead)

with open(out, "w") as fh:
    fh.write(f"# GGom/NBD individual log-likelihoods, mpmath {mp.__version__} at 60 digits (bench/ggomnbd_reference.py).\n")
    fh.write("r,alpha,b,s,beta,x,t_x,T,loglik\n")
    for p in params:
        r, al, b, s, be = map(mp.mpf, p)
        for (x, tx, T) in rows:
            v = lnL(r, al, b, s, be, x, tx, T)
            fh.write(",".join(p) + f",{x},{tx},{T},{mp.nstr(v, 30)}\n")
print("wrote", out)
