"""Pure kernels of shot matching: robust statistics, the CDL fit and the residual-LUT fit.

Everything here works on correspondences: ``x`` (shot values), ``y`` (the reference values they
should become) and ``w`` (a weight per pair), all in ACEScct code values unless the name says
linear. The estimators in :mod:`rushes.ops.match_regions` and
:mod:`rushes.ops.match_distribution` produce the pairs; :mod:`rushes.ops.match_estimate` wires
them together.

The CDL is parametrised as ``theta``, ten numbers: slope (R, G, B), offset (R, G, B),
power (R, G, B), saturation; :func:`theta_to_cdl` and :func:`cdl_to_theta` convert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import least_squares
from scipy.sparse.linalg import LinearOperator, cg, spsolve

from rushes.color.cdl import LUMA_WEIGHTS, Cdl, apply_cdl
from rushes.color.lut import Lut3d

__all__ = [
    "CCT_PER_STOP",
    "IDENTITY_THETA",
    "LUT_CANDIDATES",
    "CdlFit",
    "aggregate_pairs",
    "cdl_jacobian",
    "cdl_to_theta",
    "fit_cdl",
    "fit_residual_lut",
    "gains_to_theta",
    "theta_to_cdl",
    "weighted_median",
    "weighted_quantile",
]

#: ACEScct code values per stop on its log segment (above linear 2^-7): ``1 / 17.52``.
CCT_PER_STOP = 1.0 / 17.52

#: The identity CDL as ``theta``.
IDENTITY_THETA = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])

#: Bounds of ``theta`` during the fit (slope, offset, power, saturation).
LOWER = np.array([0.05] * 3 + [-1.0] * 3 + [0.1] * 3 + [0.0])
UPPER = np.array([20.0] * 3 + [1.0] * 3 + [10.0] * 3 + [4.0])

#: Parameters pulled gently towards the identity (slope, power, saturation; not the offsets,
#: which carry exposure and white balance).
_PRIOR_MASK = np.array([True] * 3 + [False] * 3 + [True] * 3 + [True])

_LUMA = np.asarray(LUMA_WEIGHTS, np.float64)


def theta_to_cdl(theta: np.ndarray) -> Cdl:
    """The :class:`Cdl` of a parameter vector (see the module docstring)."""
    t = [float(v) for v in np.asarray(theta, np.float64)]
    return Cdl((t[0], t[1], t[2]), (t[3], t[4], t[5]), (t[6], t[7], t[8]), t[9])


def cdl_to_theta(cdl: Cdl) -> np.ndarray:
    """The parameter vector of a :class:`Cdl`."""
    return np.array([*cdl.slope, *cdl.offset, *cdl.power, cdl.saturation], np.float64)


def gains_to_theta(gains: np.ndarray) -> np.ndarray:
    """The CDL that applies per-channel linear ``gains`` on ACEScct's log segment.

    On the log segment a linear gain ``g`` is an ACEScct offset of ``log2(g) / 17.52``, so the
    exposure/white-balance estimate becomes the starting offsets of the CDL fit.
    """
    theta = IDENTITY_THETA.copy()
    theta[3:6] = np.log2(np.asarray(gains, np.float64)) * CCT_PER_STOP
    return theta


# --------------------------------------------------------------------------------------------
# Robust statistics


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """Quantiles of weighted samples (midpoint rule, linear interpolation).

    Shape:
        - values, weights: ``(N,)``
        - q: scalar or ``(K,)`` in [0, 1]; output has the shape of ``q``
    """
    v = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    total = cw[-1]
    if total <= 0:
        raise ValueError("weighted_quantile: the weights sum to 0")
    mid = (cw - 0.5 * w) / total
    return np.asarray(np.interp(q, mid, v))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of weighted samples. Shape: ``values``, ``weights``: ``(N,)``."""
    return float(weighted_quantile(values, weights, 0.5))


# --------------------------------------------------------------------------------------------
# CDL fit


def cdl_jacobian(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Derivative of the CDL output with respect to ``theta`` at each input (float64).

    The CDL is ``v = max(x s + o, 0) ** p`` per channel, then ``out = L + sat (v - L)`` with
    ``L`` the Rec.709-weighted luma of ``v`` (:func:`rushes.color.cdl.apply_cdl`).

    Args:
        x: input RGB, ACEScct code values.
        theta: the CDL parameters.

    Returns:
        ``J[n, k, m] = d out[n, k] / d theta[m]``.

    Shape:
        - x: ``(N, 3)``
        - output: ``(N, 3, 10)``
    """
    x = np.asarray(x, np.float64)
    s, o, p, sat = theta[0:3], theta[3:6], theta[6:9], float(theta[9])
    u = x * s + o
    pos = u > 1e-9
    uc = np.where(pos, u, 1.0)
    up = uc ** (p - 1.0)
    v = np.where(pos, up * uc, 0.0)
    dv_ds = np.where(pos, p * up * x, 0.0)
    dv_do = np.where(pos, p * up, 0.0)
    dv_dp = np.where(pos, v * np.log(uc), 0.0)
    mix = (1.0 - sat) * _LUMA[None, :] + sat * np.eye(3)  # d out_k / d v_j
    jac = np.empty((len(x), 3, 10))
    jac[:, :, 0:3] = mix[None, :, :] * dv_ds[:, None, :]
    jac[:, :, 3:6] = mix[None, :, :] * dv_do[:, None, :]
    jac[:, :, 6:9] = mix[None, :, :] * dv_dp[:, None, :]
    luma = v @ _LUMA
    jac[:, :, 9] = v - luma[:, None]
    return jac


def aggregate_pairs(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, bins: int = 32, cap: float = 0.02
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge pairs whose shot values fall in the same cell of a ``bins^3`` grid over [0, 1].

    Each occupied cell gives one pair: the per-channel weighted medians of its ``x`` and of its
    ``y`` (so a minority of wrong pairs in a cell, e.g. from a moving person, does not move it;
    pairs with ``y == x`` give exactly ``y == x``) and the sum of its weights, capped at
    ``cap`` of the total so that one large uniform area (a backdrop) cannot outweigh every
    other colour.

    Shape:
        - x, y: ``(N, 3)``; w: ``(N,)``
        - outputs: ``(M, 3)``, ``(M, 3)``, ``(M,)`` with ``M <= N`` occupied cells
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    w = np.asarray(w, np.float64)
    q = np.clip((x * bins).astype(np.intp), 0, bins - 1)
    key = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    wo = w[order]
    wsum = np.add.reduceat(wo, starts)
    keep = wsum > 0
    safe = np.where(keep, wsum, 1.0)
    target = np.cumsum(wo)[starts] - wo[starts] + 0.5 * safe

    def medians(v: np.ndarray) -> np.ndarray:
        out = np.empty((len(starts), 3))
        for c in range(3):
            o2 = np.lexsort((v[:, c], key))
            cum = np.cumsum(w[o2])
            idx = np.minimum(np.searchsorted(cum, target), len(cum) - 1)
            out[:, c] = v[o2[idx], c]
        return out

    xm, ym = medians(x), medians(y)
    xm, ym, wsum = xm[keep], ym[keep], wsum[keep]
    limit = cap * float(wsum.sum())
    return xm, ym, np.minimum(wsum, limit)


@dataclass(frozen=True)
class CdlFit:
    """Result of :func:`fit_cdl`.

    Attributes:
        theta: the fitted parameters (see the module docstring).
        residual: per-pair residual norm ``|CDL(x) - y|`` (code values). Shape: ``(N,)``.
        rms: weighted RMS of ``residual``.
        inlier_fraction: weight share of pairs with ``residual < inlier_tol``.
    """

    theta: np.ndarray
    residual: np.ndarray
    rms: float
    inlier_fraction: float


def _soft_l1_then_linear(n_data: int, scale: float) -> Callable[[np.ndarray], np.ndarray]:
    """Loss for least_squares: soft-L1 (scale ``scale``) on data rows, plain on prior rows."""
    c2 = scale * scale

    def loss(z: np.ndarray) -> np.ndarray:
        out = np.empty((3, z.size))
        d = 1.0 + z[:n_data] / c2
        root = np.sqrt(d)
        out[0, :n_data] = 2.0 * c2 * (root - 1.0)
        out[1, :n_data] = 1.0 / root
        out[2, :n_data] = -0.5 / (c2 * d * root)
        out[0, n_data:] = z[n_data:]
        out[1, n_data:] = 1.0
        out[2, n_data:] = 0.0
        return out

    return loss


def fit_cdl(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    theta0: np.ndarray,
    *,
    scale: float = 0.02,
    prior: float = 1e-3,
    inlier_tol: float = 0.03,
    max_nfev: int = 60,
    bins: int = 32,
) -> CdlFit:
    """Fit the ASC CDL that maps ``x`` to ``y`` by robust, weighted least squares.

    Minimises ``sum_n w_n sum_k rho(CDL(x_n)_k - y_nk) + prior * N * |theta - 1|^2`` over
    slope, offset, power and saturation, with ``rho`` the soft-L1 loss of scale ``scale``
    (quadratic below it, linear above) and a weak pull of slope, power and saturation to 1
    (it only decides directions the data leave free, e.g. slope against power on a narrow
    range of values). Pairs that agree exactly with ``theta0`` give ``theta0`` back.
    The pairs are first merged per cell of a ``bins^3`` grid (:func:`aggregate_pairs`), which
    keeps the solve small (a few thousand cells) whatever the number of pairs.

    Args:
        x: shot values, ACEScct code values.
        y: the reference values they should become, ACEScct code values.
        w: weight per pair (>= 0).
        theta0: starting parameters (e.g. from :func:`gains_to_theta`).
        scale: soft-L1 scale in code values (0.02 is about a third of a stop).
        prior: strength of the pull towards the identity, relative to one pair.
        inlier_tol: residual norm under which a pair counts as an inlier (for the stats).
        max_nfev: evaluation budget of the solver.
        bins: cells per axis for merging pairs; 0 fits the pairs themselves.

    Returns:
        The fit and its residuals.

    Shape:
        - x, y: ``(N, 3)``
        - w: ``(N,)``
    """
    x_all = np.ascontiguousarray(x, np.float32)
    y_all = np.asarray(y, np.float64)
    w_all = np.asarray(w, np.float64)
    if bins:
        xa, ya, wa = aggregate_pairs(x_all, y_all, w_all, bins)
        x, y64 = xa.astype(np.float32), ya
    else:
        x, y64, wa = x_all, y_all, w_all
    wa = wa / max(float(wa.mean()), 1e-30)
    sw = np.sqrt(wa)[:, None]
    n = len(x)
    n_data = 3 * n
    k_prior = np.sqrt(prior * n)
    idx = np.flatnonzero(_PRIOR_MASK)
    target = IDENTITY_THETA[idx]

    def fun(th: np.ndarray) -> np.ndarray:
        out = apply_cdl(x, th[0:3], th[3:6], th[6:9], th[9]).astype(np.float64)
        res = ((out - y64) * sw).ravel()
        return np.concatenate([res, k_prior * (th[idx] - target)])

    def jac(th: np.ndarray) -> np.ndarray:
        j = (cdl_jacobian(x, th) * sw[:, :, None]).reshape(n_data, 10)
        jp = np.zeros((len(idx), 10))
        jp[np.arange(len(idx)), idx] = k_prior
        return np.vstack([j, jp])

    start = np.clip(np.asarray(theta0, np.float64), LOWER + 1e-9, UPPER - 1e-9)
    sol = least_squares(
        fun,
        start,
        jac=jac,
        bounds=(LOWER, UPPER),
        loss=_soft_l1_then_linear(n_data, scale),
        f_scale=1.0,
        x_scale="jac",
        max_nfev=max_nfev,
        method="trf",
        xtol=1e-10,
        ftol=1e-10,
        gtol=1e-10,
    )
    theta = sol.x
    out = apply_cdl(x_all, theta[0:3], theta[3:6], theta[6:9], theta[9]).astype(np.float64)
    resid = np.linalg.norm(out - y_all, axis=1)
    wsum = max(float(w_all.sum()), 1e-30)
    rms = float(np.sqrt((w_all * resid**2).sum() / wsum))
    inl = float(w_all[resid < inlier_tol].sum() / wsum)
    return CdlFit(theta, resid, rms, inl)


# --------------------------------------------------------------------------------------------
# Residual LUT


def _trilinear_matrix(u: np.ndarray, n: int, lo: float, hi: float) -> sp.csr_matrix:
    """Sparse ``(N, n**3)`` matrix of trilinear weights of points ``u`` on an ``n^3`` lattice."""
    t = np.clip((np.asarray(u, np.float64) - lo) / (hi - lo), 0.0, 1.0) * (n - 1)
    i0 = np.minimum(t.astype(np.intp), n - 2)
    f = t - i0
    rows = np.repeat(np.arange(len(u)), 8)
    cols = np.empty((len(u), 8), np.intp)
    vals = np.empty((len(u), 8))
    k = 0
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                cols[:, k] = ((i0[:, 0] + dr) * n + (i0[:, 1] + dg)) * n + (i0[:, 2] + db)
                wr = f[:, 0] if dr else 1.0 - f[:, 0]
                wg = f[:, 1] if dg else 1.0 - f[:, 1]
                wb = f[:, 2] if db else 1.0 - f[:, 2]
                vals[:, k] = wr * wg * wb
                k += 1
    return sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(len(u), n**3))


def _second_differences(n: int) -> sp.csr_matrix:
    """Stacked second-difference operators along the three axes of an ``n^3`` lattice."""
    d1 = sp.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n - 2, n))
    eye = sp.identity(n)
    ops = [
        sp.kron(sp.kron(d1, eye), eye),
        sp.kron(sp.kron(eye, d1), eye),
        sp.kron(sp.kron(eye, eye), d1),
    ]
    return sp.vstack(ops).tocsr()


def _fit_field(
    u: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    coarse: int,
    lo: float,
    hi: float,
    smooth: float,
    ridge: float,
) -> np.ndarray:
    """The regularised residual field on the coarse lattice. Shape: ``(coarse**3, 3)``."""
    w = np.asarray(w, np.float64)
    w = w / max(float(w.sum()), 1e-30)
    a = _trilinear_matrix(u, coarse, lo, hi)
    aw = a.multiply(w[:, None]).tocsr()
    d = _second_differences(coarse)
    m = ((a.T @ aw) + smooth * (d.T @ d) + ridge * sp.identity(coarse**3)).tocsr()
    rhs = np.asarray(aw.T @ np.asarray(r, np.float64))
    # Symmetric positive definite: conjugate gradients with a Jacobi preconditioner converge in
    # tens of iterations, ~20x faster than a sparse LU.
    inv_diag = 1.0 / m.diagonal()
    pre = LinearOperator(m.shape, matvec=lambda v: inv_diag * v)
    field = np.empty((coarse**3, 3))
    for c in range(3):
        sol, info = cg(m, rhs[:, c], rtol=1e-8, atol=0.0, M=pre, maxiter=2000)
        field[:, c] = sol if info == 0 else spsolve(m.tocsc(), rhs[:, c])
    return field


def _robust_error(e: np.ndarray, w: np.ndarray, delta: float = 0.02) -> float:
    """Weighted mean Huber loss of residual vectors ``e`` (rows)."""
    n = np.linalg.norm(e, axis=1)
    h = np.where(n <= delta, 0.5 * n * n, delta * (n - 0.5 * delta))
    return float((w * h).sum() / max(float(w.sum()), 1e-30))


#: Candidate (coarse lattice, smoothness) settings tried by :func:`fit_residual_lut`.
LUT_CANDIDATES: tuple[tuple[int, float], ...] = ((9, 3e-4), (13, 3e-5), (13, 3e-4), (13, 3e-3))


def fit_residual_lut(
    u: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
    *,
    size: int = 33,
    domain: tuple[float, float] = (0.0, 1.0),
    candidates: tuple[tuple[int, float], ...] = LUT_CANDIDATES,
    ridge: float = 3e-4,
    block: int = 48,
    min_gain: float = 0.01,
    min_effect: float = 2e-3,
) -> tuple[Lut3d | None, np.ndarray]:
    """Fit a smooth residual correction on a coarse lattice and bake it into a 3D LUT.

    For a coarse lattice (``n^3`` over ``domain``) and a smoothness ``s``, solves
    ``min_c sum_k w_k |A_k c - r_k|^2 + s |D c|^2 + ridge |c|^2`` where ``A`` holds trilinear
    weights and ``D`` the second differences along each axis: a regularised scattered-data fit
    that is smooth inside the data and decays to no correction (identity) away from it. The
    setting is chosen among ``candidates`` by two-fold cross-validation (pairs split in
    alternating blocks of ``block``, so neighbouring pairs of one region stay together),
    scored by a Huber loss; no LUT is returned unless the best setting beats no correction by
    ``min_gain`` on held-out pairs and moves the data by more than ``min_effect``. The winner
    is refitted on all pairs and sampled on a ``size^3`` lattice as ``LUT(v) = v + field(v)``.

    Args:
        u: where the residual was measured (the CDL output), ACEScct code values.
        r: the residual ``reference - CDL(shot)`` at ``u``, ACEScct code values.
        w: weight per sample (>= 0).
        size: lattice size of the baked LUT.
        domain: the LUT's input domain (ACEScct), the same on every channel.
        candidates: ``(coarse, smooth)`` settings to choose from.
        ridge: weight of the pull to zero correction (relative to the data, whose weights
            sum to 1).
        block: pairs per cross-validation block.
        min_gain: relative held-out improvement a LUT must bring.
        min_effect: 98th percentile of the correction at the data (code values) under which
            the LUT is left out.

    Returns:
        The LUT (ACEScct -> ACEScct, ``size^3`` over ``domain``) or None, and the fitted
        correction at each ``u`` (zeros without a LUT).

    Shape:
        - u, r: ``(N, 3)``
        - w: ``(N,)``
        - second output: ``(N, 3)``
    """
    lo, hi = domain
    u = np.asarray(u, np.float64)
    r = np.asarray(r, np.float64)
    w = np.asarray(w, np.float64)
    zeros = np.zeros_like(r)
    if len(u) < 4 * block or float(w.sum()) <= 0:
        return None, zeros
    fold = (np.arange(len(u)) // block) % 2 == 0
    base = _robust_error(r[~fold], w[~fold]) + _robust_error(r[fold], w[fold])
    best: tuple[float, int, float] | None = None
    for coarse, smooth in candidates:
        err = 0.0
        for train in (fold, ~fold):
            field = _fit_field(u[train], r[train], w[train], coarse, lo, hi, smooth, ridge)
            test = ~train
            pred = _trilinear_matrix(u[test], coarse, lo, hi) @ field
            err += _robust_error(r[test] - pred, w[test])
        if best is None or err < best[0]:
            best = (err, coarse, smooth)
    assert best is not None
    err, coarse, smooth = best
    if err > (1.0 - min_gain) * base:
        return None, zeros
    field = _fit_field(u, r, w, coarse, lo, hi, smooth, ridge)
    fitted = np.asarray(_trilinear_matrix(u, coarse, lo, hi) @ field)
    if float(np.quantile(np.linalg.norm(fitted, axis=1), 0.98)) < min_effect:
        return None, zeros
    coarse_lut = Lut3d(field.reshape(coarse, coarse, coarse, 3), (lo,) * 3, (hi,) * 3)
    lattice = Lut3d.lattice(size, (lo,) * 3, (hi,) * 3)
    table = lattice + coarse_lut.apply(lattice, method="trilinear")
    lut = Lut3d(table, (lo,) * 3, (hi,) * 3, title="rushes match residual (ACEScct)")
    return lut, fitted
