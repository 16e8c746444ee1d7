"""AdaGrad with lazy (row-sparse) updates and a learning rate and weight decay per term.

Only the rows a step saw are read or written. Weight decay is an L2 term on the rows seen (as lazy
updates do), added to their summed gradient. With g = clip(scale * grad), scale = rescale_grad or
1 / records:
- w0 and w1: AdaGrad per weight, h += g^2, w -= lr * g / sqrt(h + eps) (MXNet's adagrad_update);
- v: AdaGrad per row, as embedding trainers do: h_i += mean_f g_if^2, v_i -= lr * g_i / sqrt(h_i + eps).
  One accumulator per feature keeps the optimizer's memory at feature_dim floats, not
  feature_dim x num_factors, and each step reads and writes v's rows once.
"""
import math

import numba
import numpy as np
from numba import prange

from containers.factorization_machines.fm import H1, HV, W1

_JIT = dict(nogil=True, cache=True, fastmath={"reassoc", "contract"})  # see fm.py


class LazyAdaGrad:
    def __init__(self, params, hp):
        self.eps = 1e-7 if hp.get("eps") is None else float(hp["eps"])
        self.clip = -1.0 if hp.get("clip_gradient") is None else float(hp["clip_gradient"])
        self.rescale = hp.get("rescale_grad")
        self.params = params
        self.lr = {"w0": float(hp["bias_lr"]), "w1": float(hp["linear_lr"]), "v": float(hp["factors_lr"])}
        self.wd = {"w0": float(hp["bias_wd"]), "w1": float(hp["linear_wd"]), "v": float(hp["factors_wd"])}
        self.h0 = np.zeros(1, np.float32)  # w1's and v's accumulators are columns of params.aux

    def scale(self, records):
        # the summed gradient becomes a mean unless rescale_grad says otherwise
        return float(self.rescale) if self.rescale is not None else 1.0 / max(records, 1)

    def row_args(self, records):
        """What apply_row needs besides the row: (lr_w1, lr_v, eps, clip, scale, decay_w1, decay_v).
        The decays are per unit of weight, added to the summed gradient before scaling."""
        scale = self.scale(records)
        return (self.lr["w1"], self.lr["v"], self.eps, self.clip, scale, self.wd["w1"] / scale,
                self.wd["v"] / scale)

    def step_w0(self, g0, records):
        p = self.params
        g = g0 * self.scale(records) + self.wd["w0"] * float(p.w0[0])
        if self.clip > 0:
            g = min(max(g, -self.clip), self.clip)
        self.h0[0] += g * g
        p.w0[0] -= self.lr["w0"] * g / math.sqrt(float(self.h0[0]) + self.eps)

    def step_rows(self, uniq, g1, gv, records):
        """Apply summed gradients g1 (m,), gv (m, k) (decay not included) to the rows uniq. gv is
        overwritten."""
        apply_rows(uniq, g1, gv, self.params.aux, self.params.v, *self.row_args(records))


@numba.njit(**_JIT)
def _clip(x, c):
    if c > 0:
        if x > c:
            return c
        if x < -c:
            return -c
    return x


@numba.njit(**_JIT)
def _w1_update(key, g1, aux, lr1, eps, clip, scale, dw):
    g1 = _clip((g1 + dw * aux[key, W1]) * scale, clip)
    aux[key, H1] += g1 * g1
    aux[key, W1] -= lr1 * g1 / math.sqrt(aux[key, H1] + eps)


@numba.njit(**_JIT)
def _v_update(j, key, msq, s, G, aux, v, lrv, eps):
    """v_key -= lrv * s * G[j] / sqrt(h + eps) after h += s^2 * msq / k (msq: the sum of G[j]^2)."""
    k = v.shape[1]
    h = aux[key, HV] + s * s * (msq / k)
    aux[key, HV] = h
    step = lrv * s / math.sqrt(h + eps)
    for f in range(k):
        v[key, f] -= G[j, f] * step


@numba.njit(**_JIT)
def apply_row(j, key, g1, own, G, aux, v, lr1, lrv, eps, clip, scale, dw, dv):
    """One feature's update from its summed gradients: g1 for w1, G[j] - own * v_key for v (own = 0
    when G[j] is the whole gradient). G[j] is overwritten. Element indexing only: see fm._forward_rows."""
    _w1_update(key, g1, aux, lr1, eps, clip, scale, dw)
    k = v.shape[1]
    s = scale
    c = dv - own
    msq = np.float32(0.0)
    if clip > 0:
        for f in range(k):
            G[j, f] = _clip((G[j, f] + c * v[key, f]) * scale, clip)
            msq += G[j, f] * G[j, f]
        s = 1.0
    else:
        for f in range(k):
            G[j, f] += c * v[key, f]
            msq += G[j, f] * G[j, f]
    _v_update(j, key, msq, s, G, aux, v, lrv, eps)


@numba.njit(**_JIT)
def apply_once(j, key, x, r, dy, xv, G, aux, v, lr1, lrv, eps, scale, dw, dv):
    """apply_row for a feature that occurs once in the batch (record r, value x) and no clipping, the
    common case in a wide model: its gradient x dy_r (xv_r - x v_key) is made and squared in the same
    pass over the row, two passes instead of three (the step ran ~10% faster). G[j] is scratch."""
    xd = x * dy[r]
    _w1_update(key, xd, aux, lr1, eps, -1.0, scale, dw)
    k = v.shape[1]
    c = dv - x * xd
    msq = np.float32(0.0)
    for f in range(k):
        g = xd * xv[r, f] + c * v[key, f]
        G[j, f] = g
        msq += g * g
    _v_update(j, key, msq, scale, G, aux, v, lrv, eps)


@numba.njit(parallel=True, **_JIT)
def apply_rows(uniq, g1, gv, aux, v, lr1, lrv, eps, clip, scale, dw, dv):
    for j in prange(uniq.shape[0]):
        apply_row(j, uniq[j], g1[j], 0.0, gv, aux, v, lr1, lrv, eps, clip, scale, dw, dv)
