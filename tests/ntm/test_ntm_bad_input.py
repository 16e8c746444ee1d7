"""Bad input fails fast with a ClientError naming the hyperparameter or the file."""
import ntmdata as d
from helpers import job_dir, run_train


def _job(tmp_path, hp, extra=None):
    beta = d.topics(50, 3, seed=2)
    X, _ = d.documents(beta, 40, seed=3, mean_length=20)
    channels = {"train": d.channel(d.recordio_sparse(X))}
    channels.update(extra or {})
    return job_dir(tmp_path, dict({"feature_dim": 50, "num_topics": 3, "epochs": 1}, **hp), channels)


def test_ntm_encoder_layers_that_do_not_parse(tmp_path):
    r = run_train(_job(tmp_path, {"encoder_layers": "[30, x]"}), d.ALGO, timeout=120)
    assert r.rc == 2 and r.failure.startswith("ClientError: ")
    assert "encoder_layers" in r.failure and "'x'" in r.failure


def test_ntm_vocabulary_length_disagrees_with_feature_dim(tmp_path):
    vocab = "\n".join("word%d" % i for i in range(49)) + "\n"
    r = run_train(_job(tmp_path, {}, {"auxiliary": d.channel({"vocab.txt": vocab.encode()}, "text/plain")}),
                  d.ALGO, timeout=120)
    assert r.rc == 2 and r.failure.startswith("ClientError: ")
    assert "vocab.txt" in r.failure and "49 words" in r.failure and "feature_dim is 50" in r.failure
    assert "#quality_metric" not in r.log  # refused before any training

