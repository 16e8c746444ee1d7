"""The real `train` program: sampling, the per-tree sample rule, hosts, channels, metrics, bad input."""
import json
import os
import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

import rcfdata
from rcfdata import scores_of
from contract import declaration, registry
from containers.randomcutforest import artifact, sampling
from helpers import free_port, job_dir, run_train, start_train
from rcfdata import ALGO, CSV, RIO


def _quality(log, name):
    return [float(v) for v in re.findall(r"#quality_metric: host=algo-1, test %s <score>=(\S+)" % name, log)]


def test_rcf_metric_lines_are_the_three_sigma_rule_on_the_test_scores(sine_model):
    m = sine_model
    s = scores_of(m.server, m.Xte)
    pred = s > s.mean() + 3 * s.std()
    y = m.yte.astype(bool)
    log = m.result.log
    assert pred.sum() > 0
    assert _quality(log, "f1") == [pytest.approx(f1_score(y, pred), abs=1e-9)]
    assert _quality(log, "accuracy") == [pytest.approx(accuracy_score(y, pred), abs=1e-9)]
    assert _quality(log, "precision") == [pytest.approx(precision_score(y, pred), abs=1e-9)]
    assert _quality(log, "recall") == [pytest.approx(recall_score(y, pred), abs=1e-9)]
    assert _quality(log, "f1_negative") == [pytest.approx(f1_score(~y, ~pred), abs=1e-9)]
    # the tuning objective's declared regex reads the f1 line
    decl = declaration.load(registry.available()[ALGO])
    (f1,) = [d for d in decl["metrics"] if d["name"] == "test:f1"]
    assert f1["direction"] == "Maximize"
    assert [float(v) for v in re.findall(f1["regex"], log)] == _quality(log, "f1")


def test_rcf_pipe_mode_recordio_and_hidden_hyperparameters(mixture_model):
    log = mixture_model.result.log
    assert "ignoring hyperparameters" in log and "_ftp_port=8999" in log
    assert "read %d records" % len(mixture_model.Xtr) in log
    assert re.search(r"#throughput_metric: host=algo-1, train throughput=\S+ records/second", log)
    _, meta = artifact.load(os.path.join(mixture_model.base, "model", artifact.MODEL_FILE))
    assert (meta["num_trees"], meta["num_samples_per_tree"], meta["feature_dim"]) == (100, 256, 10)
    assert len(_quality(log, "f1")) == 1 and len(_quality(log, "accuracy")) == 1


def test_rcf_small_data_shrinks_the_per_tree_sample_as_the_service(tmp_path):
    """The service's log: 4032 records, num_trees=50, num_samples_per_tree=512 -> 80 per tree."""
    X = np.random.default_rng(3).normal(10, 2, (4032, 1)).astype(np.float32)
    Xte, yte = X[:200].copy(), np.zeros(200, np.float32)
    Xte[:5] += 30
    yte[:5] = 1
    base = job_dir(tmp_path, {"feature_dim": 1, "num_trees": 50, "num_samples_per_tree": 512,
                              "eval_metrics": "accuracy"},  # one word
                   {"train": rcfdata.train_channel(rcfdata.csv(X), "text/csv;label-size=0"),
                    "test": {"content_type": "text/csv;label-size=1", "files": {"t.csv": rcfdata.csv(Xte, yte)}}})
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-2000:]
    assert "4032 samples gathered" in r.log
    forest, meta = artifact.load(os.path.join(base, "model", artifact.MODEL_FILE))
    assert meta["num_samples_per_tree"] == 80 and meta["num_samples_in_forest"] == 4000
    assert sampling.per_tree(4032, 50, 512) == 80
    # every tree holds 80 distinct records of the data, 4000 different ones over the forest
    leaves = forest.left < 0
    assert int(forest.mass[forest.roots].sum()) == 4000
    pts = np.repeat(forest.lower[leaves, 0], forest.mass[leaves])
    assert np.isin(pts, X[:, 0]).all()
    # eval_metrics=accuracy: accuracy and the tuning objective, no precision/recall lines
    assert len(_quality(r.log, "accuracy")) == 1 and len(_quality(r.log, "f1")) == 1
    assert not _quality(r.log, "precision")


def test_rcf_reservoir_is_uniform_without_replacement():
    rng = np.random.default_rng(5)
    N, K, rounds = 30, 6, 6000
    counts = np.zeros(N)
    X = np.arange(N, dtype=np.float32)[:, None]
    for _ in range(rounds):
        res = sampling.Reservoir(K, 1, rng)
        for i in range(0, N, 7):
            res.add(X[i:i + 7])
        got = res.sample()[:, 0].astype(int)
        assert len(set(got)) == K
        counts[got] += 1
    expected = rounds * K / N
    # binomial spread: 5 standard deviations
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected * (1 - K / N))


def test_rcf_two_hosts_merge_their_reservoirs_through_the_kvstore(tmp_path):
    """Host 1 has 6000 records near 0, host 2 has 2000 near 100: the forest's sample of 3200 comes
    from both in proportion to what each read (3:1), and only the first host writes it."""
    rng = np.random.default_rng(11)
    shards = [rng.normal(0, 1, (6000, 2)).astype(np.float32), rng.normal(100, 1, (2000, 2)).astype(np.float32)]
    env = {"SAGEMAKER_HOST_ADDRESSES": json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
           "SAGEMAKER_KVSTORE_PORT": str(free_port())}
    procs = []
    for host, X in zip(["algo-1", "algo-2"], shards):
        base = job_dir(tmp_path / host, {"feature_dim": 2, "num_trees": 50, "num_samples_per_tree": 64},
                       {"train": rcfdata.train_channel(rcfdata.recordio(X), RIO)},
                       hosts=["algo-1", "algo-2"], current_host=host)
        procs.append(start_train(base, ALGO, env))
    logs = [p.communicate(timeout=180)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    forest, meta = artifact.load(str(tmp_path / "algo-1" / "model" / artifact.MODEL_FILE))
    assert meta["records_seen"] == 8000 and meta["num_samples_in_forest"] == 3200
    leaves = forest.left < 0
    pts = np.repeat(forest.lower[leaves], forest.mass[leaves], axis=0)
    far = (pts[:, 0] > 50).mean()
    assert abs(far - 0.25) < 0.03, far   # hypergeometric sd is under 0.01
    assert "merged reservoirs of 2 hosts" in logs[0]


def _fails(tmp_path, hp, channels):
    base = job_dir(tmp_path, hp, channels)
    r = run_train(base, ALGO)
    assert r.rc != 0 and r.failure and r.failure.startswith("ClientError: "), (r.failure, r.log[-1500:])
    return r.failure


TRAIN = rcfdata.train_channel(rcfdata.csv(np.ones((100, 2), np.float32)))


@pytest.mark.parametrize("hp,named", [({"num_trees": 49}, "num_trees"), ({"num_trees": 1001}, "num_trees"),
                                      ({"num_samples_per_tree": 2049}, "num_samples_per_tree"),
                                      ({"eval_metrics": "f1"}, "eval_metrics")])
def test_rcf_hyperparameters_out_of_range_are_client_errors(tmp_path, hp, named):
    failure = _fails(tmp_path, dict({"feature_dim": 2}, **hp), {"train": TRAIN})
    assert named in failure


def test_rcf_test_channel_sharded_is_a_client_error(tmp_path):
    failure = _fails(tmp_path, {"feature_dim": 2},
                     {"train": TRAIN, "test": {"content_type": CSV, "distribution": "ShardedByS3Key",
                                               "files": {"t.csv": b"0,1,1\n"}}})
    assert "test" in failure and "FullyReplicated" in failure


def test_rcf_train_channel_fully_replicated_is_a_client_error(tmp_path):
    ch = dict(TRAIN, distribution="FullyReplicated")
    failure = _fails(tmp_path, {"feature_dim": 2}, {"train": ch})
    assert "train" in failure and "ShardedByS3Key" in failure


def test_rcf_width_mismatch_names_file_and_line(tmp_path):
    body = b"1,2,3\n4,5,6\n"
    failure = _fails(tmp_path, {"feature_dim": 2}, {"train": rcfdata.train_channel(body)})
    assert "part-0" in failure and "line 1" in failure and "feature_dim is 2" in failure


def test_rcf_fewer_records_than_trees_is_a_client_error(tmp_path):
    body = rcfdata.csv(np.ones((20, 2), np.float32))
    failure = _fails(tmp_path, {"feature_dim": 2, "num_trees": 50}, {"train": rcfdata.train_channel(body)})
    assert "num_trees" in failure and "20 records" in failure


def test_rcf_sigterm_while_sampling_saves_the_forest_of_what_was_read(tmp_path):
    import signal
    import threading
    import time
    X = np.random.default_rng(4).normal(size=(25000, 3)).astype(np.float32)
    base = job_dir(tmp_path, {"feature_dim": 3, "num_trees": 50, "num_samples_per_tree": 64},
                   {"train": rcfdata.train_channel(b"", RIO, mode="Pipe")})
    release = threading.Event()

    def feed():  # the data, then the pipe stays open as a slow source would
        path = os.path.join(base, "input", "data", "train_0")
        os.mkfifo(path)
        with open(path, "wb") as w:
            w.write(rcfdata.recordio(X))
            w.flush()
            release.wait(60)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    p = start_train(base, ALGO)
    model = os.path.join(base, "model", artifact.MODEL_FILE)
    deadline = time.time() + 60
    while time.time() < deadline and not os.path.exists(os.path.join(base, "input", "data", "train_0")):
        time.sleep(0.1)
    time.sleep(3)  # let it read what is there
    p.send_signal(signal.SIGTERM)
    log = p.communicate(timeout=60)[0].decode()
    release.set()
    assert p.returncode == 0, log
    assert os.path.exists(model), log[-2000:]
    _, meta = artifact.load(model)
    # the whole blocks read (10,000 records each; the partial block in the reader is not kept)
    assert meta["records_seen"] in (20000, 25000) and meta["num_samples_per_tree"] == 64, meta
    assert "SIGTERM received" in log
