"""The index a job builds, worked out from the hyperparameters before any data is read.

The client's rules (IVFPQ with L2 only; a reduction type needs a target below feature_dim) and the
guide's padding rule for faiss_index_pq_m are checked here, so a bad combination fails in seconds.
"""
import math
from dataclasses import dataclass
from typing import Optional

from contract.errors import ClientError

PQ_M_VALUES = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)


@dataclass
class Plan:
    input_dim: int
    reduction: Optional[str]      # sign, fjlt or None
    target_dim: Optional[int]     # projected width (raised to a multiple of pq_m for IVFPQ)
    index_dim: int                # width the index stores (zero padding when there is no reduction)
    index_type: str
    metric: str                   # L2, INNER_PRODUCT or COSINE
    nlists: object                # "auto" or an int
    pq_m: Optional[int]
    nprobe: int

    @property
    def normalize(self):
        return self.metric == "COSINE"


def _round_up(n, m):
    return -(-n // m) * m


def default_pq_m(dim):
    """No pq_m given: the largest listed value that divides the width with at least 4 dimensions per
    sub-vector (FAISS's usual shape), else the largest listed value not above the width."""
    fits = [m for m in PQ_M_VALUES if dim % m == 0 and dim // m >= 4]
    return max(fits) if fits else max(m for m in PQ_M_VALUES if m <= dim)


def make(hp, log=None):
    d = hp["feature_dim"]
    index_type = hp["index_type"]
    metric = hp["index_metric"]
    if index_type == "faiss.IVFPQ" and metric != "L2":
        raise ClientError("hyperparameter index_metric: %s is not supported with index_type faiss.IVFPQ;"
                          " use L2" % metric)
    reduction = hp.get("dimension_reduction_type")
    target = hp.get("dimension_reduction_target")
    if reduction is None and target is not None:
        if log:
            log.warning("dimension_reduction_target=%d ignored: no dimension_reduction_type", target)
        target = None
    if reduction is not None and target >= d:
        raise ClientError("hyperparameter dimension_reduction_target: %d must be less than feature_dim %d"
                          % (target, d))
    pq_m = hp.get("faiss_index_pq_m")
    if index_type != "faiss.IVFPQ":
        if pq_m is not None and log:
            log.warning("faiss_index_pq_m=%d ignored: index_type is %s", pq_m, index_type)
        pq_m = None
    width = target if reduction else d
    index_dim = width
    if index_type == "faiss.IVFPQ":
        if pq_m is None:
            pq_m = default_pq_m(width)
        if pq_m > width:
            raise ClientError("hyperparameter faiss_index_pq_m: %d sub-vectors do not fit in %d dimensions (%s)"
                              % (pq_m, width, "dimension_reduction_target" if reduction else "feature_dim"))
        if reduction:
            raised = _round_up(target, pq_m)
            if raised != target:
                if raised > d:
                    raise ClientError(
                        "hyperparameter faiss_index_pq_m: %d does not fit: dimension_reduction_target %d "
                        "would be raised to %d, more than feature_dim %d" % (pq_m, target, raised, d))
                if log:
                    log.info("dimension_reduction_target raised from %d to %d, a multiple of faiss_index_pq_m=%d",
                             target, raised, pq_m)
                target = raised
            index_dim = target
        else:
            index_dim = _round_up(d, pq_m)
            if index_dim != d and log:
                log.info("features padded with zeros from %d to %d, a multiple of faiss_index_pq_m=%d",
                         d, index_dim, pq_m)
    return Plan(d, reduction, target, index_dim, index_type, metric, hp["faiss_index_ivf_nlists"], pq_m,
                hp["_faiss_index_nprobe"])


def nlists_for(plan, sample_size, n):
    """IVF lists for n sampled points: auto is sqrt(sample_size) (at most n); an explicit value above n
    cannot be trained."""
    if plan.nlists == "auto":
        return max(1, min(n, int(round(math.sqrt(sample_size)))))
    if plan.nlists > n:
        raise ClientError("hyperparameter faiss_index_ivf_nlists: %d lists need at least %d sampled records;"
                          " the sample has %d" % (plan.nlists, plan.nlists, n))
    return plan.nlists
