"""Golden values for test/search/seed-clusters.test.ts, computed with numpy in the parametrisation
p = top * sigmoid(a + b x) (no centring, no shortcuts): the model-based and the leverage-corrected
(Mancl & DeRouen 2001: H = D A^-1 D' V^-1 per seed) seed-cluster sandwich variances of the
boundary theta = (logit(target / top) - a) / b by the delta method, with the ceiling top fixed at
1 (two parameters) or free (three). Run: python3 test/search/seed-clusters-golden.py"""
import numpy as np
from scipy import stats

# (value, converged, seed): seeds 0-5 at several values, like a search with shared seeds.
RUNS = [
    (10, 0, 0), (20, 0, 0), (40, 1, 0), (80, 1, 0), (160, 1, 0),
    (10, 0, 1), (20, 1, 1), (40, 1, 1), (80, 1, 1),
    (10, 0, 2), (20, 0, 2), (40, 0, 2), (80, 0, 2), (160, 1, 2),
    (20, 0, 3), (40, 1, 3), (80, 1, 3), (160, 1, 3),
    (10, 1, 4), (40, 1, 4), (160, 1, 4),
    (20, 0, 5), (40, 0, 5), (80, 1, 5),
]
TARGET = 0.5


def sandwich(theta, b, top, free):
    q = TARGET
    a = np.log((q / top) / (1 - q / top)) - b * theta
    x = np.log([r[0] for r in RUNS])
    y = np.array([r[1] for r in RUNS], float)
    seed = np.array([r[2] for r in RUNS])
    s = 1 / (1 + np.exp(-(a + b * x)))
    p = top * s
    v = p * (1 - p)
    D = np.column_stack([top * s * (1 - s), top * s * (1 - s) * x] + ([s] if free else []))
    A = D.T @ (D / v[:, None])
    Ainv = np.linalg.inv(A)
    M = np.zeros_like(A)
    for g in np.unique(seed):
        i = seed == g
        H = D[i] @ Ainv @ D[i].T @ np.diag(1 / v[i])
        adj = np.linalg.solve(np.eye(i.sum()) - H, y[i] - p[i])
        u = D[i].T @ (adj / v[i])
        M += np.outer(u, u)
    V = Ainv @ M @ Ainv
    grad = np.array([-1 / b, -theta / b] + ([-1 / ((top - q) * b)] if free else []))
    model, robust = grad @ Ainv @ grad, grad @ V @ grad
    G = len(np.unique(seed))
    t = stats.t.ppf(0.975, G - (3 if free else 2))
    return model, robust, G, max(1.0, robust / model) * t * t


for theta, b, top, free in [(np.log(35.0), 1.7, 1.0, False), (np.log(35.0), 1.7, 0.9, True)]:
    model, robust, G, cut = sandwich(theta, b, top, free)
    print(f"theta=log {np.exp(theta):g} b={b} top={top} free={free}: model {model!r} robust {robust!r} seeds {G} cut {cut!r}")
