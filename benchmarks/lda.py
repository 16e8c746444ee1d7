"""LDA: the real `train` job on sparse recordIO vs scikit-learn's online LatentDirichletAllocation with
one pass over the same documents, side by side.

Prints: documents/s of the moment pass (reading and decoding included, from the job's log), whole-job
wall time, peak memory (max RSS) of each, and the quality of both models (worst Hungarian-matched
topic TV distance to the generating topics, held-out per-word bound).

    .venv/bin/python benchmarks/lda.py                      # 100,000 docs, V=10,000, 50 topics
    .venv/bin/python benchmarks/lda.py --docs 20000         # a quicker look
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

import ldadata
from helpers import job_dir, program, train_env


def _child_maxrss_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def run_job(base):
    before = _child_maxrss_mb()
    t = time.time()
    p = subprocess.run([program("train")], env=train_env(base, "lda"), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    wall = time.time() - t
    log = p.stdout.decode("utf-8", "replace")
    if p.returncode:
        sys.exit("train failed:\n" + log[-3000:])
    m = re.search(r"moment pass: (\d+) documents.* \(([0-9.]+) documents/s; ([0-9.]+)s of CPU", log)
    rate, cpu_rate = float(m.group(2)), int(m.group(1)) / max(float(m.group(3)), 1e-9)
    return wall, (rate, cpu_rate), max(_child_maxrss_mb(), before), log


SKLEARN = r"""
import pickle, resource, sys, time
import numpy as np
from sklearn.decomposition import LatentDirichletAllocation
X, K, alpha0 = pickle.load(open(sys.argv[1], "rb"))
t = time.time()
sk = LatentDirichletAllocation(n_components=K, doc_topic_prior=alpha0 / K, learning_method="online",
                               max_iter=1, total_samples=X.shape[0], random_state=0).fit(X)
wall = time.time() - t
beta = sk.components_ / sk.components_.sum(axis=1, keepdims=True)
pickle.dump((wall, beta, sk.doc_topic_prior_, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
            open(sys.argv[2], "wb"))
"""


def run_sklearn(X, K, alpha0, tmp):
    import pickle
    src, dst = os.path.join(tmp, "sk_in.pkl"), os.path.join(tmp, "sk_out.pkl")
    pickle.dump((X, K, alpha0), open(src, "wb"))
    subprocess.run([sys.executable, "-c", SKLEARN, src, dst], check=True)
    return pickle.load(open(dst, "rb"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--vocab", type=int, default=10_000)
    ap.add_argument("--topics", type=int, default=50)
    ap.add_argument("--length", type=int, default=100, help="mean document length (words)")
    ap.add_argument("--alpha0", type=float, default=1.0)
    ap.add_argument("--no-sklearn", action="store_true")
    a = ap.parse_args()
    from containers.lda.likelihood import document_bounds

    beta = ldadata.bars(a.vocab, a.topics)
    alpha = np.full(a.topics, a.alpha0 / a.topics)
    t = time.time()
    X, _ = ldadata.documents(beta, alpha, a.docs, a.length, seed=0)
    Xt, _ = ldadata.documents(beta, alpha, 1000, a.length, seed=1)
    body = ldadata.recordio_sparse(X)
    print("data: %d documents, vocabulary %d, %d topics, %.1f nonzeros/document, %.1f MB sparse recordIO "
          "(made in %.1fs)" % (a.docs, a.vocab, a.topics, X.nnz / a.docs, len(body) / 1e6, time.time() - t))

    def pwll(al, be):
        b, n = document_bounds(al, be, Xt.data, Xt.indices, Xt.indptr)
        return b.sum() / n.sum()

    with tempfile.TemporaryDirectory() as tmp:
        job_dir(tmp, {"num_topics": a.topics, "feature_dim": a.vocab, "mini_batch_size": a.docs,
                      "alpha0": a.alpha0},
                {"train": {"content_type": ldadata.RIO, "files": {"part-0": body}}})
        del body
        wall, rate, rss, log = run_job(tmp)
        al, be = ldadata.load_model(os.path.join(tmp, "model"))
        ours = (wall, rate, rss, ldadata.tv_matched(beta, be)[0].max(), pwll(al, be))
        stages = re.search(r"whitening .*", log)
        sk = None
        if not a.no_sklearn:
            sk_wall, sk_beta, sk_prior, sk_rss = run_sklearn(X, a.topics, a.alpha0, tmp)
            sk = (sk_wall, sk_rss, ldadata.tv_matched(beta, sk_beta)[0].max(),
                  pwll(np.full(a.topics, sk_prior), sk_beta))
    print("\n%-34s %14s %22s" % ("", "this (spectral)", "sklearn online, 1 pass"))
    print("%-34s %14.0f %22s" % ("moment pass, documents/s", ours[1][0], "-"))
    print("%-34s %14.0f %22s" % ("  per CPU-second (all threads)", ours[1][1], "-"))
    print("%-34s %14.1f %22s" % ("whole job, s", ours[0], "%.1f" % sk[0] if sk else "-"))
    print("%-34s %14.0f %22s" % ("peak memory (max RSS), MB", ours[2], "%.0f" % sk[1] if sk else "-"))
    print("%-34s %14.3f %22s" % ("worst matched topic TV", ours[3], "%.3f" % sk[2] if sk else "-"))
    print("%-34s %14.4f %22s" % ("held-out per-word bound", ours[4], "%.4f" % sk[3] if sk else "-"))
    print("%-34s %14.4f" % ("  (generating model)", pwll(alpha, beta)))
    if sk:
        print("\nwhole job / sklearn: %.2fx (target <= 2x); moment pass target >= 50,000 documents/s"
              % (ours[0] / sk[0]))
    if stages:
        print("stages after the pass:", stages.group(0))
    print("load while measuring:", os.getloadavg())


if __name__ == "__main__":
    main()
