"""Reference values for PANTHERTests.emMatchesNumpyReference.

A NumPy transcription of the formulas of mahmoodlab/PANTHER `src/mil_models/PANTHER/networks.py`
(`mog_eval`, `DirNIWNet.map_m_step`, `DirNIWNet.map_em` with a fixed prior m, V = eps * softplus(log(e-1))).
Run: python3 make_panther_em_reference.py > panther_em_reference.json
"""
import json
import numpy as np

x = np.array([[0.0, 1.0], [0.5, -0.5], [2.0, 2.5], [3.0, 1.5], [-1.0, 0.0]], dtype=np.float64)  # N=5, d=2
m = np.array([[0.0, 0.0], [2.0, 2.0]], dtype=np.float64)  # C=2 prototypes
eps, tau, steps = 1.0, 1.0, 2
V = eps * np.log1p(np.exp(np.log(np.e - 1))) * np.ones_like(m)

def mog_eval(pi, mu, Sigma, data):
    d = data.shape[1]
    jll = -0.5 * (d * np.log(2 * np.pi) + np.log(Sigma).sum(-1)[None, :] + (data ** 2) @ (1.0 / Sigma).T
                  + ((mu ** 2) / Sigma).sum(-1)[None, :] - 2.0 * data @ (mu / Sigma).T) + np.log(pi)[None, :]
    mx = jll.max(-1, keepdims=True)
    mll = mx[:, 0] + np.log(np.exp(jll - mx).sum(-1))
    return jll - mll[:, None]

def m_step(data, q):
    wsum = q.sum(0)
    reg = wsum + tau
    pi = reg / reg.sum()
    mu = (q.T @ data + m * tau) / reg[:, None]
    Sigma = (q.T @ data ** 2 + (V + m ** 2) * tau) / reg[:, None] - mu ** 2
    return pi, mu, Sigma

pi, mu, Sigma = np.ones(2) / 2, m.copy(), V.copy()
for _ in range(steps):
    q = np.exp(mog_eval(pi, mu, Sigma, x))
    pi, mu, Sigma = m_step(x, q)

print(json.dumps({
    "features": x.ravel().tolist(), "prototypes": m.ravel().tolist(), "eps": eps, "tau": tau, "steps": steps,
    "responsibilities": q.ravel().tolist(), "weights": pi.tolist(), "means": mu.ravel().tolist(),
    "variances": Sigma.ravel().tolist(), "numpy": np.__version__,
}, indent=1))
