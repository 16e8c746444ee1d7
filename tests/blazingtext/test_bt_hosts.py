"""batch_skipgram on two hosts: two `train` processes, word vectors averaged through the kvstore."""
import collections
import json
import os
import re

import fasttext
import numpy as np
from gensim.models import KeyedVectors

from bt_data import ALGO, ONE_THREAD, read, text_channel
from helpers import free_port, job_dir, run_train, start_train

HP = {"mode": "batch_skipgram", "epochs": 2, "vector_dim": 20, "min_count": 3, "evaluation": "true"}


def test_bt_batch_skipgram_two_hosts(tmp_path):
    corpus = b"".join(l + b"\n" for l in read("lee_background.cor").splitlines()[:150])
    env = dict(ONE_THREAD, SAGEMAKER_HOST_ADDRESSES=json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
               SAGEMAKER_KVSTORE_PORT=str(free_port()))
    procs = []
    for host in ["algo-1", "algo-2"]:
        base = job_dir(tmp_path / host, HP, {"train": text_channel(corpus)}, hosts=["algo-1", "algo-2"],
                       current_host=host)
        procs.append(start_train(base, ALGO, env))
    logs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [l[-3000:] for l in logs]
    lines = corpus.splitlines()
    for host, log in zip(["algo-1", "algo-2"], logs):
        # each host trained on its half of the sentences, and both averaged after every epoch
        assert "host %s trains on %d of %d sentences" % (host, len(lines) // 2, len(lines)) in log
        assert len(re.findall(r"word vectors averaged over 2 hosts", log)) == 2
        progress = re.findall(r"Progress: (\S+)%", log)
        assert progress[-1] == "100.00" and "50.00" in progress
    # one model, written by the first host
    assert sorted(os.listdir(tmp_path / "algo-1" / "model")) == ["eval.json", "vectors.bin", "vectors.txt"]
    assert os.listdir(tmp_path / "algo-2" / "model") == []
    model_dir = str(tmp_path / "algo-1" / "model")
    kv = KeyedVectors.load_word2vec_format(os.path.join(model_dir, "vectors.txt"))
    ft = fasttext.load_model(os.path.join(model_dir, "vectors.bin"))
    # the vocabulary is the whole corpus's (min_count over both hosts' data), not one host's share
    counts = collections.Counter(t for l in lines for t in l.split())
    assert set(kv.index_to_key) == {w.decode() for w, c in counts.items() if c >= 3} | {"</s>"}
    for w in ["the", "Australia", "said"]:
        assert np.allclose(kv[w], ft.get_word_vector(w), rtol=1e-4, atol=1e-6)
    assert re.search(r"#mean_rho: \S+", logs[0]) and not re.search(r"#mean_rho", logs[1])


def test_bt_batch_skipgram_hosts_need_fully_replicated(tmp_path):
    env = dict(ONE_THREAD, SAGEMAKER_HOST_ADDRESSES=json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}),
               SAGEMAKER_KVSTORE_PORT=str(free_port()))
    base = job_dir(tmp_path, HP, {"train": text_channel(b"a b c\n", distribution="ShardedByS3Key")},
                   hosts=["algo-1", "algo-2"], current_host="algo-2")
    r = run_train(base, ALGO, env=env, timeout=120)
    assert r.rc != 0 and r.failure.startswith("ClientError: ") and "FullyReplicated" in r.failure
