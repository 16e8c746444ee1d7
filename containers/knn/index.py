"""Building the FAISS index the plan names from the sampled (projected) rows."""
import math
import os

import faiss
import numpy as np

from containers.knn import plan as plans

METRICS = {"L2": faiss.METRIC_L2, "INNER_PRODUCT": faiss.METRIC_INNER_PRODUCT,
           "COSINE": faiss.METRIC_INNER_PRODUCT}


def use_threads(n):
    """OpenMP threads for n rows: one below 50,000 (FAISS's threads spin-wait, and on small inputs a busy
    machine turns that into seconds), every core above."""
    faiss.omp_set_num_threads(1 if n < 50000 else (os.cpu_count() or 1))


def build(plan, x, sample_size, log):
    """An index holding every row of x (float32, C order, plan.index_dim wide) with ids 0..n-1."""
    n, d = x.shape
    use_threads(n)
    metric = METRICS[plan.metric]
    if plan.index_type == "faiss.Flat":
        index = faiss.IndexFlat(d, metric)
    else:
        nlist = plans.nlists_for(plan, sample_size, n)
        quantizer = faiss.IndexFlat(d, metric)
        if plan.index_type == "faiss.IVFFlat":
            index = faiss.IndexIVFFlat(quantizer, d, nlist, metric)
        else:
            # 8-bit codes need 256 training points per sub-quantizer; a smaller sample gets fewer bits
            nbits = max(1, min(8, int(math.log2(n))))
            index = faiss.IndexIVFPQ(quantizer, d, nlist, plan.pq_m, nbits)
            log.info("IVFPQ: %d sub-vectors of %d dimensions, %d-bit codes", plan.pq_m, d // plan.pq_m, nbits)
        index.own_fields = True
        quantizer.this.disown()  # the index frees its quantizer
        index.nprobe = min(plan.nprobe, nlist)
        log.info("Training index: %s with %d lists (nprobe %d) on %d points", plan.index_type, nlist,
                 index.nprobe, n)
        index.train(x)
    log.info("Adding data to index: %d points of dimension %d (%s, %s)", n, d, plan.index_type, plan.metric)
    index.add(x)
    return index


# A flat index this large is split across the cores when served: one query alone scans every stored
# vector in one thread (FAISS parallelises over queries), so its latency is the memory scan of the
# whole table; in shards, each core scans its part and FAISS merges the k best of each.
SHARD_MIN_VECTORS = 50000


def shard_flat(index, parts):
    """The same flat index as `parts` FAISS shards searched in threads (ids as before), or the index
    itself when it is not flat, small, or there is one core."""
    flat = faiss.downcast_index(index)
    if parts < 2 or not isinstance(flat, faiss.IndexFlat) or index.ntotal < SHARD_MIN_VECTORS:
        return index
    xb = faiss.rev_swig_ptr(flat.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
    shards = faiss.IndexShards(index.d, True, True)  # threaded, successive ids
    shards.members = []  # the shards' Python owners: IndexShards does not free them
    for part in np.array_split(xb, parts):
        sub = faiss.IndexFlat(index.d, flat.metric_type)
        sub.add(np.ascontiguousarray(part))
        shards.add_shard(sub)
        shards.members.append(sub)
    return shards
