"""LDA training: one streaming pass for the moments, the spectral decomposition, test pwll."""
import time

import numpy as np

from containers.lda import artifact, spectral
from containers.lda.likelihood import PerWordLikelihood
from containers.lda.moments import Chunk, Corpus, MomentPass
from contract.errors import ClientError
from formats import Csr

READ_DOCS = 8192  # documents per chunk read; mini_batch_size is the corpus size here (the guide's)


def _as_csr(batch, first, channel):
    """The batch's counts as CSR, checked: counts are finite and never negative."""
    f = batch.features
    if isinstance(f, Csr):
        data, indices, indptr = np.asarray(f.data, np.float32), f.indices.astype(np.int64), f.indptr
        indptr = indptr.astype(np.int64) - indptr[0]
    else:
        f = np.asarray(f, np.float32)
        rows, cols = np.nonzero(f)
        data, indices = f[rows, cols], cols.astype(np.int64)
        indptr = np.zeros(f.shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=f.shape[0]), out=indptr[1:])
    bad = ~np.isfinite(data) | (data < 0)
    if bad.any():
        pos = int(np.argmax(bad))
        row = int(np.searchsorted(indptr, pos, side="right")) - 1
        what = "negative" if np.isfinite(data[pos]) else "not finite"
        raise ClientError("channel %s: record %d: word count %r for word %d is %s; LDA reads word "
                          "counts (>= 0)" % (channel, first + row, float(data[pos]), int(indices[pos]), what))
    return Csr(data, indices, indptr, (len(batch), f.shape[1]))


def _documents(ch, V):
    """CSR chunks of the channel's documents, one streaming pass."""
    seen = 0
    # read without feature_dim: the reader pads sparse records that declare a smaller shape, and a
    # vocabulary that disagrees with feature_dim is an error here, whichever way it disagrees
    for batch in ch.batches(READ_DOCS, feature_dim=None, label_size=0):
        width = batch.features.shape[1]
        if width != V:
            where = ("lines %d-%d" % (seen + 1, seen + len(batch)) if ch.content_type == "text/csv"
                     else "records %d-%d" % (seen, seen + len(batch) - 1))
            raise ClientError("channel %s: %s have a vocabulary of %d words (%s), feature_dim is %d"
                              % (ch.name, where, width, "sparse shape" if isinstance(batch.features, Csr)
                                 else "features per record", V))
        docs = _as_csr(batch, seen, ch.name)
        seen += docs.shape[0]
        yield docs


def train(job):
    hp = job.hyperparameters
    K, V = hp["num_topics"], hp["feature_dim"]
    if K >= V:
        raise ClientError("hyperparameter num_topics: %d is not valid; it must be less than feature_dim "
                          "(the vocabulary size, %d)" % (K, V))
    start, cpu_start = time.time(), time.process_time()
    moments = MomentPass(V, spectral.sketch_width(K, V), hp["alpha0"])
    corpus = Corpus(V)
    stopped = False
    for docs in _documents(job.channel("train"), V):
        chunk = Chunk(docs)
        moments.add(chunk, docs)
        corpus.add(chunk)
        if job.stop_requested():
            stopped = True
            break
    stopped = stopped or job.stop_requested()
    pass_time, pass_cpu = time.time() - start, time.process_time() - cpu_start
    if stopped:
        if moments.n3 < 1:
            job.log.info("stopped before any usable document was read: no model to save")
            return
        job.log.info("stopped during the moment pass: the model is fitted to the %d documents read",
                     corpus.docs)
    job.log.info("moment pass: %d documents, %d words, %d nonzero counts in %.2fs (%.0f documents/s; "
                 "%.2fs of CPU in all threads)", corpus.docs, int(moments.words), corpus.nnz, pass_time,
                 corpus.docs / max(pass_time, 1e-9), pass_cpu)
    if corpus.docs != hp["mini_batch_size"]:
        job.log.info("mini_batch_size is %d, the corpus has %d documents: every document was used",
                     hp["mini_batch_size"], corpus.docs)
    if moments.n3 < 1:
        raise ClientError("channel train: no document has 3 or more words; the third moment needs them")
    alpha, beta, err = spectral.fit(moments, corpus, K, hp["max_restarts"], hp["max_iterations"], hp["tol"],
                                    log=job.log)
    job.log.info("decomposition relative error %.4g; alpha %s", err, np.array2string(alpha, precision=4))
    del corpus
    job.save_model(artifact.MODEL_FILE, lambda path: artifact.save(path, alpha, beta))
    job.metrics.progress(1.0)
    job.metrics.throughput("train", moments.n1 / max(time.time() - start, 1e-9))
    test = job.channel("test")
    if test is not None and not stopped and not job.stop_requested():
        pwll = PerWordLikelihood(alpha, beta)
        for docs in _documents(test, V):
            pwll.add(docs.data, docs.indices, docs.indptr)
        if pwll.words:
            job.log.info("test: %d documents, %d words", pwll.docs, int(pwll.words))
            job.metrics.quality("test", "pwll", pwll.value(), kind="score")
        else:
            job.log.warning("channel test: no words; no test:pwll")
