"""recordIO-protobuf decoding speed on one core: ours against the official client's reader.

usage: python benchmarks/recordio_read.py [--records 200000]
"""
import argparse
import io
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor

from formats import rioproto


def official_dense(data):
    """What a user of the official client does to get a matrix back."""
    recs = read_records(io.BytesIO(data))
    return np.array([r.features["values"].float32_tensor.values for r in recs], dtype=np.float32)


def best_of(fn, arg, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200000)
    args = ap.parse_args()
    n = args.records
    rng = np.random.RandomState(0)
    X = rng.rand(n, 100).astype(np.float32)
    f = io.BytesIO()
    write_numpy_to_dense_tensor(f, X, rng.randint(0, 2, n).astype(np.float32))
    dense = f.getvalue()
    assert np.array_equal(rioproto.decode(dense, 100).features, X)
    ours = best_of(lambda b: rioproto.decode(b, 100), dense)
    small = dense[:len(dense) // 10]
    theirs = best_of(official_dense, small, runs=1) * 10
    print("dense, 100 float32 features, %d records (%.0f MB):" % (n, len(dense) / 1e6))
    print("  ours:     %9.0f records/s" % (n / ours))
    print("  official: %9.0f records/s (read_records + numpy, timed on a tenth)" % (n / theirs))
    print("  ratio ours/official: %.1fx" % (theirs / ours))

    S = sp.random(n // 2, 10000, density=0.002, format="csr", dtype=np.float32, random_state=1)
    f = io.BytesIO()
    write_spmatrix_to_sparse_tensor(f, S, rng.randint(0, 2, n // 2).astype(np.float32))
    sparse = f.getvalue()
    got = rioproto.decode(sparse, 10000).features
    assert np.array_equal(got.indices, S.indices) and np.allclose(got.data, S.data)
    ours = best_of(lambda b: rioproto.decode(b, 10000), sparse)
    print("sparse, 10000 dims, ~20 non-zeros, %d records: ours %.0f records/s" % (n // 2, (n // 2) / ours))


if __name__ == "__main__":
    main()
