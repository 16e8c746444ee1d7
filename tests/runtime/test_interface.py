"""The algorithm interface, driven through the real `train` and `serve` with the runtime's own test
algorithm (tests/runtime/algorithms/echo_algo): request objects, hooks, statuses, channel defaults,
hyperparameter forms, declarations and the error taxonomy."""
import json
import os

import numpy as np
import pytest
import requests

from contract import declaration
from contract.errors import ClientError
from formats import codecs
from helpers import job_dir, run_train, served

ALGO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "algorithms")
ENV = {"ALGORITHM_PATH": ALGO_DIR, "PYTHONPATH": ALGO_DIR + os.pathsep + os.environ.get("PYTHONPATH", "")}
ALGO = "echo-test"
X = np.arange(12, dtype=np.float32).reshape(4, 3)


def _csv(x):
    return "".join(",".join("%g" % v for v in row) + "\n" for row in x).encode()


def _train(base, hp, channels=None, env=None, hosts=None):
    job_dir(base, hp, channels or {"train": {"content_type": "text/csv", "files": {"a.csv": _csv(X)}}}, hosts=hosts)
    r = run_train(base, ALGO, env=dict(ENV, **(env or {})))
    seen = None
    if r.rc == 0:
        with open(os.path.join(r.model_dir, "seen.json")) as f:
            seen = json.load(f)
    return r, seen


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("echo")
    r, seen = _train(base, {"feature_dim": 3})
    assert r.rc == 0, r.log[-3000:]
    return base, r, seen


def test_training_threads_all_gives_mxnet_every_cpu(trained, tmp_path):
    """echo-test declares training_threads: all; MXNet would otherwise take half the CPUs."""
    assert trained[2]["mxnet_omp_max_threads"] == str(len(os.sched_getaffinity(0)))
    r, seen = _train(tmp_path, {"feature_dim": 3}, env={"MXNET_OMP_MAX_THREADS": "1"})
    assert r.rc == 0 and seen["mxnet_omp_max_threads"] == "1"  # the operator's own setting wins


@pytest.fixture(scope="module")
def server(trained):
    with served(trained[0], ALGO, env=ENV) as s:
        yield s


@pytest.fixture(scope="module")
def batch_server(trained):
    with served(trained[0], ALGO, env=dict(ENV, SAGEMAKER_BATCH="true")) as s:
        yield s


def test_parameters_reach_decode_and_encode(server):
    r = server.post(_csv(X[:2]), "text/csv; Label_Size = 0 ; charset=utf-8",
                    accept="application/json; Verbose=True")
    assert r.status_code == 200, r.text
    rows = r.json()["echoes"]
    assert len(rows) == 2
    assert rows[0]["content_params"] == {"label_size": "0", "charset": "utf-8"}
    assert rows[0]["accept_params"] == {"verbose": "True"}
    assert rows[0]["batch"] is False
    means = X.mean(axis=0)
    np.testing.assert_allclose([r_["distance"] for r_ in rows], np.sqrt(((X[:2] - means) ** 2).sum(1)), rtol=1e-6)


def test_star_and_missing_accept_get_the_default(server):
    for accept in (None, "*/*", "application/*;q=0.5, */*;q=0.1"):
        r = server.post(_csv(X[:3]), "text/csv", accept=accept)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/jsonlines"), accept
        assert len(r.text.splitlines()) == 3


def test_encode_may_choose_the_response_type(server):
    r = server.post(b'{"instances": [[1, 2, 3]]}', "application/json", accept="application/json; mirror=true")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    r = server.post(_csv(X[:1]), "text/csv", accept="application/json; mirror=true")
    assert r.headers["Content-Type"].startswith("text/csv") and r.json()["echoes"][0]["rows"] == 1


def test_default_encoding_when_the_hook_declines(server):
    r = server.post(_csv(X), "text/csv", accept="text/csv")
    assert r.status_code == 200
    got = np.array([[float(v) for v in line.split(",")] for line in r.text.splitlines()])
    assert got.shape == (4, 2) and (got[:, 0] == 4).all()


def test_client_error_in_a_hook_is_its_4xx_and_the_server_keeps_running(server):
    r = server.post(b"client-error", "text/csv")
    assert r.status_code == 422 and "refuses this body" in r.text
    r = server.post(b"crash", "text/csv")
    assert r.status_code == 500 and "crashed on purpose" in r.text
    assert server.post(_csv(X[:1]), "text/csv").status_code == 200


def test_octet_stream_bodies_reach_decode(server):
    body = bytes(range(256)) * 3
    r = server.post(body, "application/octet-stream", accept="application/json")
    assert r.status_code == 200
    assert r.json()["echoes"][0]["bytes"] == len(body)


def test_batch_flag_reaches_the_predictor(batch_server):
    r = batch_server.post(_csv(X[:1]), "text/csv", accept="application/json")
    assert r.json()["echoes"][0]["batch"] is True


def test_unsupported_types_are_4xx(server):
    assert server.post(b"x", "image/png").status_code == 415
    assert server.post(_csv(X[:1]), "text/csv", accept="application/x-recordio-protobuf").status_code == 406
    assert server.post(b"", "text/csv").status_code == 400


def test_channel_without_content_type_gets_the_declared_default(tmp_path):
    r, seen = _train(tmp_path, {"feature_dim": 3}, {"train": {"files": {"a.csv": _csv(X)}}})
    assert r.rc == 0, r.log[-2000:]
    assert seen["content_type"] == "text/csv"


def test_hyperparameter_forms_clients_send(tmp_path):
    cases = [
        ({"flag": "True"}, "flag", True), ({"flag": "False"}, "flag", False), ({"flag": "1"}, "flag", True),
        ({"flag": "true"}, "flag", True),
        ({"layers": "[60, 40]"}, "layers", [60, 40]), ({"layers": "60,40"}, "layers", [60, 40]),
        ({"layers": "['60', '40']"}, "layers", [60, 40]), ({"layers": "50"}, "layers", [50]),
        ({"words": "['msd', 'ssd']"}, "words", ["msd", "ssd"]), ({"words": "ssd"}, "words", ["ssd"]),
        ({"words": '["ssd"]'}, "words", ["ssd"]), ({"words": "msd, ssd"}, "words", ["msd", "ssd"]),
    ]
    for given, name, want in cases:
        got = declaration.validate(declaration.load(os.path.join(ALGO_DIR, "echo_algo", "algorithm.yaml"))
                                   ["hyperparameters"], dict(feature_dim="3", **given))
        assert got[name] == want, (given, got[name])
    # and through the real program, with the hidden names the platform adds
    r, seen = _train(tmp_path, {"feature_dim": 3, "flag": "True", "layers": "['7', '5']", "words": "ssd",
                                "_tuning_objective_metric": "train:mean", "_kvstore": "dist_sync",
                                "_num_gpus": "auto", "force_dense": "True"})
    assert r.rc == 0, r.log[-2000:]
    hp = seen["hyperparameters"]
    assert hp["flag"] is True and hp["layers"] == [7, 5] and hp["words"] == ["ssd"]
    assert "_kvstore" not in hp and "force_dense" not in hp
    assert "ignoring hyperparameters" in r.log and "force_dense=True" in r.log and "_kvstore=dist_sync" in r.log


def test_an_alias_sets_its_hyperparameter(tmp_path):
    r, seen = _train(tmp_path, {"feature_dim": 3, "learning_rate": "0.05"})
    assert r.rc == 0, r.log[-2000:]
    assert seen["hyperparameters"]["eta"] == 0.05
    r, _ = _train(tmp_path / "both", {"feature_dim": 3, "learning_rate": "0.05", "eta": "0.1"})
    assert r.rc == 2 and "eta and learning_rate" in r.failure


def test_a_cross_field_rule_is_checked_before_data(tmp_path):
    # no train files at all: the rule must fail first, naming both hyperparameters
    r, _ = _train(tmp_path, {"feature_dim": 3, "objective": "multi:softprob"},
                  {"train": {"content_type": "text/csv", "files": {}}})
    assert r.rc == 2
    assert r.failure.startswith("ClientError: ") and "num_class" in r.failure and "multi:softprob" in r.failure
    r, seen = _train(tmp_path / "ok", {"feature_dim": 3, "objective": "multi:softprob", "num_class": 3})
    assert r.rc == 0 and seen["hyperparameters"]["num_class"] == 3


def test_channel_distribution_rule(tmp_path):
    r, _ = _train(tmp_path, {"feature_dim": 3}, {
        "train": {"content_type": "text/csv", "files": {"a.csv": _csv(X)}},
        "test": {"content_type": "text/csv", "files": {"a.csv": _csv(X)}, "distribution": "ShardedByS3Key"}})
    assert r.rc == 2 and "channel test" in r.failure and "ShardedByS3Key" in r.failure


def test_metrics_declared_by_parts_match_the_printed_lines(trained, tmp_path):
    decl = declaration.load(os.path.join(ALGO_DIR, "echo_algo", "algorithm.yaml"))
    regex = {m["name"]: m["regex"] for m in decl["metrics"]}
    _, r, _ = trained
    assert r.metrics(regex["train:mean"]) == [pytest.approx(float(X.mean()))]
    r2, _ = _train(tmp_path, {"feature_dim": 3}, {
        "train": {"content_type": "text/csv", "files": {"a.csv": _csv(X)}},
        "test": {"content_type": "text/csv", "files": {"a.csv": _csv(X[:3])}}})
    assert r2.metrics(regex["test:rows"]) == [3.0]


def test_platform_error_when_a_host_never_resolves(tmp_path):
    r, _ = _train(tmp_path, {"feature_dim": 999}, {"train": {"content_type": "text/csv",
                                                             "files": {"a.csv": _csv(np.ones((2, 999)))}}},
                  env={"SAGEMAKER_HOST_RESOLVE_ATTEMPTS": "1"},
                  hosts=["algo-1.invalid", "algo-2.invalid"])
    assert r.rc == 1
    assert r.failure.startswith("PlatformError: ") and "did not resolve" in r.failure


BAD_DECLARATIONS = {
    "unknown top-level key": ("colour: blue\n", "unknown key colour"),
    "unknown hyperparameter key": ("hyperparameters:\n  k: {type: int, mni: 1}\n", "unknown key mni"),
    "tunable not a hyperparameter": ("tunable:\n  nope: {type: Integer, min: 1, max: 2}\n", "tunable nope"),
    "metric without direction": ("metrics:\n  - {name: 'test:x', channel: test, metric: x}\n", "direction"),
    "metric regex without a group": ("metrics:\n  - {name: 'a:b', regex: 'abc', direction: Minimize}\n",
                                     "captures no value"),
    "unknown type": ("hyperparameters:\n  k: {type: integer}\n", "unknown type"),
    "no serving module": ("serving: {content_types: [text/csv]}\n", "serving module"),
    "training_threads a number": ("training_threads: 4\n", "training_threads must be default or all"),
}


@pytest.mark.parametrize("case", sorted(BAD_DECLARATIONS))
def test_malformed_declarations_are_rejected(tmp_path, case):
    base = {"name": "x", "training": "a.b", "serving": {"module": "a.c"},
            "hyperparameters": {"k": {"type": "int"}}, "channels": {"train": {"content_types": ["text/csv"]}}}
    import yaml
    patch, message = BAD_DECLARATIONS[case]
    base.update(yaml.safe_load(patch))
    path = tmp_path / "algorithm.yaml"
    path.write_text(yaml.safe_dump(base))
    with pytest.raises(declaration.DeclarationError, match=message):
        declaration.load(str(path))


def test_every_algorithm_declaration_loads():
    from contract import registry
    found = registry.available()
    assert {"kmeans", "linear-learner", "xgboost"} <= set(found)
    for name, path in found.items():
        decl = declaration.load(path)  # raises on anything malformed
        assert all(m["direction"] in ("Maximize", "Minimize") for m in decl["metrics"]), name


def test_json_root_and_bare_lists():
    out = {"score": np.array([1.0, 2.5], dtype=np.float32)}
    assert json.loads(codecs.encode(out, mime=codecs.JSON)) == {"predictions": [{"score": 1.0}, {"score": 2.5}]}
    assert json.loads(codecs.encode(out, mime=codecs.JSON, root="scores")) == {"scores": [{"score": 1.0},
                                                                                         {"score": 2.5}]}
    assert json.loads(codecs.encode(out, mime=codecs.JSON, root=None)) == [{"score": 1.0}, {"score": 2.5}]


def test_client_error_status_is_a_4xx():
    assert ClientError("x").status == 400 and ClientError("x", status=404).status == 404
    with pytest.raises(ValueError):
        ClientError("x", status=500)


def test_multi_model_endpoint_serves_any_algorithm(tmp_path, trained):
    """SAGEMAKER_MULTI_MODEL=true: models of the echo algorithm loaded, invoked and unloaded by name."""
    base = trained[0]
    other = tmp_path / "other"
    r, _ = _train(other, {"feature_dim": 3}, {"train": {"content_type": "text/csv", "files": {"a.csv": _csv(X * 10)}}})
    assert r.rc == 0, r.log[-2000:]
    models = {"small": os.path.join(str(base), "model"), "large": os.path.join(str(other), "model")}
    env = dict(ENV, SAGEMAKER_MULTI_MODEL="true", SAGEMAKER_MODEL_SERVER_WORKERS="2")
    os.makedirs(tmp_path / "mme")
    with served(tmp_path / "mme", ALGO, env=env) as s:
        def load(name):
            return requests.post(s.url + "/models", data=json.dumps({"model_name": name, "url": models[name]}),
                                 headers={"Content-Type": "application/json"}, timeout=30)

        def invoke(name):
            return requests.post(s.url + "/models/%s/invoke" % name, data=_csv(X[:1]),
                                 headers={"Content-Type": "text/csv", "Accept": "application/json"}, timeout=30)

        assert invoke("small").status_code == 404
        assert load("small").status_code == 200 and load("large").status_code == 200
        assert load("small").status_code == 409
        distances = {}
        for name in models:
            for _ in range(4):  # whichever worker answers
                res = invoke(name)
                assert res.status_code == 200, res.text
                distances.setdefault(name, set()).add(round(res.json()["echoes"][0]["distance"], 4))
        means = {"small": X.mean(0), "large": (X * 10).mean(0)}
        for name, d in distances.items():
            assert d == {round(float(np.sqrt(((X[0] - means[name]) ** 2).sum())), 4)}, (name, d)
        assert requests.delete(s.url + "/models/large", timeout=10).status_code == 200
        assert invoke("large").status_code == 404 and invoke("small").status_code == 200
