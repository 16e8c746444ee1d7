"""Training behaviour: the artifact users open, topics printed with the vocabulary, early stopping,
Pipe mode with CSV, the hyperparameter forms the official client sends."""
import json
import re
import zipfile

import mxnet as mx
import numpy as np

import ntmdata as d
from helpers import client_session, job_dir, run_train


def test_artifact_is_the_zip_users_unzip(topic_model):
    params, names = d.load_params(topic_model.model_file)
    assert sorted(names) == ["meta.json", "params", "symbol.json"]
    assert params["arg:projection_weight"].shape == (500, 10)
    assert params["arg:encoder_0_weight"].shape == (500, 30)
    assert params["arg:encoder_1_weight"].shape == (20, 30)
    with zipfile.ZipFile(topic_model.model_file) as z:
        meta = json.loads(z.read("meta.json"))
        sym = mx.sym.load_json(z.read("symbol.json").decode())
    val = topic_model.result.metrics(r"epoch=\d+, validation total_loss <loss>=(\S+)")
    assert meta["version"] and meta["epoch_number"] == 1 + int(np.argmin(val))  # the epoch kept
    assert meta["training_parameters"]["num_topics"] == 10
    assert meta["training_parameters"]["encoder_layers"] == [30, 20]
    # symbol.json + params bind as saved (no renaming) and give the topic weights numpy gives
    args = {k.split(":", 1)[1]: mx.nd.array(v) for k, v in params.items()}
    Xt = np.asarray(topic_model.Xt[:20].todense(), np.float32)
    args["data"] = mx.nd.array(Xt)
    exe = sym.bind(mx.cpu(), args)
    weights = exe.forward()[0].asnumpy()
    _, _, z = d.numpy_losses(params, Xt)
    np.testing.assert_allclose(weights, z, rtol=1e-4, atol=1e-6)


def test_topics_and_wetc_are_logged_with_the_vocabulary(topic_model):
    log = topic_model.result.log
    lines = re.findall(r"Topic (\d+) \[WETC (\S+)\]: (.+)", log)
    assert [int(k) for k, _, _ in lines] == list(range(10))
    for _, wetc, words in lines:
        assert -1 <= float(wetc) <= 1
        ws = words.split()
        assert len(ws) == 10 and all(w in topic_model.words for w in ws)
    # the vocabulary names each word's true topic: a learned topic's top words share one
    purity = [max(np.bincount([int(w.split("_t")[1]) for w in words.split()])) / 10 for _, _, words in lines]
    assert np.mean(purity) >= 0.8
    (mean,) = re.findall(r"WETC \(mean over 10 topics, top 10 words\): (\S+)", log)
    assert float(mean) > 0.2  # top words of a topic occur in the same documents


def test_early_stopping_on_the_training_loss_in_pipe_mode_from_csv(tmp_path):
    V, K = 100, 4
    beta = d.topics(V, K, seed=5)
    X, _ = d.documents(beta, 300, seed=6, mean_length=40)
    hp = {"feature_dim": V, "num_topics": K, "optimizer": "adam", "learning_rate": 0.01, "mini_batch_size": 100,
          "epochs": 40, "num_patience_epochs": 2, "tolerance": 0.05, "encoder_layers": "auto"}
    base = job_dir(tmp_path, hp, {"train": d.channel({}, "text/csv", mode="Pipe")})
    feeder = d.feed_pipe(base, "train", d.csv_bytes(X), epochs=40)
    r = run_train(base, d.ALGO, timeout=120)
    assert r.rc == 0, r.log[-3000:]
    losses = r.metrics(r"epoch=\d+, train total_loss <loss>=(\S+)")
    assert 3 <= len(losses) < 40
    m = re.search(r"early stopping at epoch (\d+): train loss .* keeping epoch (\d+)", r.log)
    assert m and int(m.group(1)) == len(losses)
    # stopped because the last num_patience_epochs epochs improved by less than 5% on the reference
    kept = int(m.group(2))
    assert losses[kept - 1] == min(losses)
    assert not r.metrics(r"validation total_loss <loss>=(\S+)")
    with zipfile.ZipFile(r.model_dir + "/model_algo-1") as z:
        assert json.loads(z.read("meta.json"))["epoch_number"] == kept
    del feeder  # its later FIFOs are never opened; the thread is a daemon


def test_official_client_hyperparameters_are_accepted():
    """What sagemaker.NTM (2.232.0) sends: encoder_layers as a JSON list, batch_norm as "True"; and
    its exploded encoder_layers="auto" (a list-typed field turns the string into letters)."""
    from sagemaker import NTM
    from contract.registry import declaration_of
    from contract.declaration import validate
    from containers.ntm.network import encoder_sizes
    decl = declaration_of("ntm")
    est = NTM(role="r", instance_count=1, instance_type="ml.c5.xlarge", num_topics=10, encoder_layers=[40, 20],
              batch_norm=True, clip_gradient=1.5, sagemaker_session=client_session())
    sent = {k: v for k, v in est.hyperparameters().items()}
    sent["feature_dim"] = "500"
    assert sent["encoder_layers"] == "[40, 20]" and sent["batch_norm"] == "True"
    hp = validate(decl["hyperparameters"], sent, decl["ignored"])
    assert hp["batch_norm"] is True and hp["clip_gradient"] == 1.5 and hp["optimizer"] == "adadelta"
    assert encoder_sizes(hp["encoder_layers"], 10) == [40, 20]
    exploded = NTM(role="r", instance_count=1, instance_type="ml.c5.xlarge", num_topics=10, encoder_layers="auto",
                   sagemaker_session=client_session()).hyperparameters()["encoder_layers"]
    for given in (exploded, "auto", "40,20", "[40, 20]", "25"):
        hp = validate(decl["hyperparameters"], {"feature_dim": "5", "num_topics": "10", "encoder_layers": given})
        assert encoder_sizes(hp["encoder_layers"], 10) == {"25": [25], "40,20": [40, 20],
                                                          "[40, 20]": [40, 20]}.get(given, [30, 20])
