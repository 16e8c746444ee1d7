"""K-Means through the real `train` program."""
import os
import re
import signal
import time

import mxnet as mx
import numpy as np
import pytest
from sklearn.cluster import KMeans

from contract import declaration
from formats import rioproto
from helpers import job_dir, run_train, start_train

RECORDIO = "application/x-recordio-protobuf"


def _csv(X, y=None):
    rows = X if y is None else np.hstack([y[:, None], X])
    return ("\n".join(",".join("%g" % v for v in r) for r in rows) + "\n").encode()


def _channels(train, test=None, ctype=RECORDIO, mode="File"):
    ch = {"train": {"content_type": ctype, "mode": mode, "files": train}}
    if test is not None:
        ch["test"] = {"content_type": ctype, "files": test}
    return ch


def test_recordio_train_test_metrics_and_artifact(tmp_path, digits):
    X, y = digits
    tr, te = X[:1500], X[1500:]
    base = job_dir(tmp_path, {"k": 10, "feature_dim": 64, "mini_batch_size": 300, "epochs": 2,
                              "eval_metrics": '["msd", "ssd"]'},
                   _channels({"part-0.rec": rioproto.encode_dense(tr[:700], y[:700]),
                              "sub/part-1.rec": rioproto.encode_dense(tr[700:], y[700:1500]),
                              ".hidden": b"not data"},
                             {"t.rec": rioproto.encode_dense(te)}))
    r = run_train(base, "kmeans")
    assert r.rc == 0, r.log
    assert r.failure is None
    # model_algo-1 is an mx.nd.save list holding one (k, feature_dim) array
    arrays = mx.nd.load(os.path.join(r.model_dir, "model_algo-1"))
    assert isinstance(arrays, list) and len(arrays) == 1 and arrays[0].shape == (10, 64)
    centroids = arrays[0].asnumpy()
    msd = ((te[:, None, :] - centroids[None]) ** 2).sum(-1).min(1).mean()
    (logged_msd,) = r.metrics(r"#quality_metric: host=algo-1, test msd <loss>=(\S+)")
    (logged_ssd,) = r.metrics(r"#quality_metric: host=algo-1, test ssd <loss>=(\S+)")
    assert logged_msd == pytest.approx(msd, rel=1e-3)
    assert logged_ssd == pytest.approx(msd * len(te), rel=1e-3)
    assert len(r.metrics(r"#quality_metric: host=algo-1, epoch=\d+, train msd <loss>=(\S+)")) == 2
    assert r.metrics(r"#progress_metric: host=algo-1, completed (\S+) % of epochs") == [50.0, 100.0]
    assert r.metrics(r"#throughput_metric: host=algo-1, train throughput=(\S+) records/second")[0] > 0


def test_every_declared_metric_regex_matches_the_log(tmp_path, digits):
    X, _ = digits
    base = job_dir(tmp_path, {"k": 4, "feature_dim": 64, "eval_metrics": '["msd","ssd"]'},
                   _channels({"a.rec": rioproto.encode_dense(X[:500])}, {"b.rec": rioproto.encode_dense(X[500:600])}))
    r = run_train(base, "kmeans")
    assert r.rc == 0, r.log
    # the declaration as the runtime loads it: regexes derived from metrics declared by their parts
    decl = declaration.load(os.path.join(os.path.dirname(__file__), "../../containers/kmeans/algorithm.yaml"))
    for metric in decl["metrics"]:
        values = re.findall(metric["regex"], r.log)
        assert values, "%s regex %r matched nothing" % (metric["name"], metric["regex"])
        float(values[-1])


def test_quality_within_ten_percent_of_scikit_learn(tmp_path, digits):
    X, _ = digits
    tr, te = X[:1500], X[1500:]
    base = job_dir(tmp_path, {"k": 10, "feature_dim": 64, "mini_batch_size": 500},
                   _channels({"a.rec": rioproto.encode_dense(tr)}, {"b.rec": rioproto.encode_dense(te)}))
    r = run_train(base, "kmeans")
    assert r.rc == 0, r.log
    (ours,) = r.metrics(r"test msd <loss>=(\S+)")
    km = KMeans(10, n_init=10, random_state=0).fit(tr)
    theirs = ((te[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1).min(1).mean()
    assert ours <= theirs * 1.10, (ours, theirs)


def test_csv_with_label_column_and_gzip(tmp_path, digits):
    import gzip
    X, y = digits
    base = job_dir(tmp_path, {"k": 5, "feature_dim": 64, "init_method": "kmeans++"},
                   _channels({"a.csv.gz": gzip.compress(_csv(X[:400], y[:400])), "b.csv": _csv(X[400:800], y[400:800])},
                             {"t.csv": _csv(X[800:900], y[800:900])}, ctype="text/csv"))
    r = run_train(base, "kmeans")
    assert r.rc == 0, r.log
    assert mx.nd.load(os.path.join(r.model_dir, "model_algo-1"))[0].shape == (5, 64)
    assert r.metrics(r"test msd <loss>=(\S+)")


def test_csv_label_size_zero(tmp_path, digits):
    X, _ = digits
    base = job_dir(tmp_path, {"k": 3, "feature_dim": 64},
                   _channels({"a.csv": _csv(X[:300])}, ctype="text/csv;label_size=0"))
    r = run_train(base, "kmeans")
    assert r.rc == 0, r.log


@pytest.mark.parametrize("hp, pattern", [
    ({"k": 3}, r"^ClientError: missing required hyperparameter feature_dim"),
    ({"k": "three", "feature_dim": 64}, r"^ClientError: hyperparameter k: 'three' is not valid"),
    ({"k": 3, "feature_dim": 64, "mini_batch_siz": 10}, r"^ClientError: unknown hyperparameter mini_batch_siz"),
    ({"k": 3, "feature_dim": 64, "init_method": "smart"}, r"^ClientError: hyperparameter init_method"),
])
def test_bad_hyperparameters_fail_before_reading_data(tmp_path, hp, pattern):
    base = job_dir(tmp_path, hp, _channels({"a.rec": b"never read"}))
    r = run_train(base, "kmeans")
    assert r.rc != 0
    assert re.search(pattern, r.failure), r.failure


def test_data_errors_name_file_and_record_or_line(tmp_path, digits):
    X, _ = digits
    base = job_dir(tmp_path / "a", {"k": 3, "feature_dim": 63}, _channels({"x.rec": rioproto.encode_dense(X[:50])}))
    r = run_train(base, "kmeans")
    assert r.rc != 0
    assert r.failure.startswith("ClientError: channel train, file x.rec: record 0: has 64 features, feature_dim is 63")

    good = rioproto.encode_dense(X[:10])
    bad = good + b"\x01\x02\x03\x04" + good
    base = job_dir(tmp_path / "b", {"k": 3, "feature_dim": 64}, _channels({"y.rec": bad}))
    r = run_train(base, "kmeans")
    assert r.rc != 0 and re.match(r"ClientError: channel train, file y.rec: record 10: bad RecordIO magic", r.failure)

    base = job_dir(tmp_path / "c", {"k": 3, "feature_dim": 2}, _channels({"z.csv": b"0,1,2\n0,3,4\n0,five,6\n"},
                                                                        ctype="text/csv"))
    r = run_train(base, "kmeans")
    assert r.rc != 0
    assert r.failure == "ClientError: channel train, file z.csv: line 3: field 2 ('five') is not a number"


def test_unknown_algorithm_and_unexpected_errors(tmp_path):
    base = job_dir(tmp_path / "a", {"k": 3, "feature_dim": 2}, _channels({"z.csv": b"0,1,2\n"}, ctype="text/csv"))
    r = run_train(base, "k-means")
    assert r.rc != 0 and re.match(r"ClientError: unknown ALGORITHM 'k-means'; available algorithms: .*kmeans", r.failure)
    # model/ being a file is nobody's input error: AlgorithmError with the traceback in the log
    base = job_dir(tmp_path / "b", {"k": 3, "feature_dim": 2}, _channels({"z.csv": b"0,1,2\n"}, ctype="text/csv"))
    open(os.path.join(base, "model"), "w").close()
    r = run_train(base, "kmeans")
    assert r.rc != 0 and r.failure.startswith("AlgorithmError: ")
    assert "Traceback" in r.log


def test_sigterm_keeps_a_usable_model(tmp_path, digits):
    """Pipe mode with a writer that stalls: SIGTERM mid-epoch still leaves a complete model."""
    X, _ = digits
    base = job_dir(tmp_path, {"k": 4, "feature_dim": 64, "mini_batch_size": 100, "epochs": 1},
                   _channels({}, mode="Pipe"))
    fifo = os.path.join(base, "input", "data", "train_0")
    os.mkfifo(fifo)
    proc = start_train(base, "kmeans")
    with open(fifo, "wb") as w:
        w.write(rioproto.encode_dense(X[:1000]))
        w.flush()
        time.sleep(3)  # the trainer has consumed the data and waits for more
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert "SIGTERM received" in out.decode()
    arrays = mx.nd.load(os.path.join(base, "model", "model_algo-1"))
    assert arrays[0].shape == (4, 64)
    assert not [n for n in os.listdir(os.path.join(base, "model")) if n.startswith(".tmp")]
