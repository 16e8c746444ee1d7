"""An NTM trained once per session by the real `train` program on documents from a known topic model,
and a `serve` process for it (started on first use)."""
import contextlib

import numpy as np
import pytest

import ntmdata as d
from helpers import TrainResult, job_dir, served, start_train

V, K = 500, 10
HP = {"feature_dim": V, "num_topics": K, "optimizer": "adam", "learning_rate": 0.02, "mini_batch_size": 32,
      "epochs": 14, "num_patience_epochs": 14, "encoder_layers": "[30, 20]"}


class Trained:
    def __init__(self, result, beta, X, Xv, Xt, words, lda, stack):
        self.result, self.beta = result, beta
        self.X, self.Xv, self.Xt, self.words, self.lda = X, Xv, Xt, words, lda
        self._stack, self._server = stack, None

    @property
    def base(self):
        return self.result.base

    @property
    def model_file(self):
        return self.result.model_dir + "/model_algo-1"

    @property
    def server(self):
        if self._server is None:
            self._server = self._stack.enter_context(served(self.base, d.ALGO))
        return self._server


@pytest.fixture(scope="session")
def _servers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def topic_model(tmp_path_factory, _servers):
    """Sparse recordIO train (File), CSV validation, dense Float64 recordIO test (the official client's
    float64 arrays), vocab.txt in the auxiliary channel. scikit-learn's LDA is fitted on the same
    documents while `train` runs."""
    from sklearn.decomposition import LatentDirichletAllocation
    beta = d.topics(V, K)
    X, _ = d.documents(beta, 3000, seed=0)
    Xv, _ = d.documents(beta, 400, seed=1)
    Xt, _ = d.documents(beta, 500, seed=2)
    words = ["w%03d_t%d" % (i, int(np.argmax(beta[:, i]))) for i in range(V)]  # word i's main topic in its name
    base = tmp_path_factory.mktemp("ntm")
    job_dir(base, HP, {"train": d.channel(d.recordio_sparse(X)),
                       "validation": d.channel(d.csv_bytes(Xv), "text/csv"),
                       "test": d.channel(d.recordio_dense(np.asarray(Xt.todense(), np.float64))),
                       "auxiliary": d.channel({"vocab.txt": ("\n".join(words) + "\n").encode()}, "text/plain")})
    proc = start_train(base, d.ALGO)
    lda = LatentDirichletAllocation(K, learning_method="batch", max_iter=15, random_state=0).fit(X)
    log = proc.communicate(timeout=300)[0].decode("utf-8", "replace")
    result = TrainResult(str(base), proc.returncode, log)
    assert result.rc == 0, log[-3000:]
    return Trained(result, beta, X, Xv, Xt, words, lda, _servers)
