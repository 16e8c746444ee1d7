"""Serving through the real `serve` program, with the official client's serializers."""

import numpy as np
import pytest
from sagemaker.deserializers import JSONDeserializer, JSONLinesDeserializer
from sagemaker.serializers import JSONLinesSerializer, JSONSerializer

import deepar_data as dd
from deepar_data import SERVE_CONFIG


def _post_json(server, payload):
    ser = JSONSerializer()
    r = server.post(ser.serialize(payload), ser.CONTENT_TYPE, accept="application/json")
    return r


def _decode(r):
    import io
    return JSONDeserializer().deserialize(io.BytesIO(r.content), r.headers["Content-Type"])


def test_deepar_endpoint_outputs(elec):
    inst = {"start": elec.start, "target": elec.y[:-dd.P].tolist()}
    r = _post_json(elec.server, {"instances": [inst, dict(inst, target=[4.0, None, "NaN", 100.0, 113.0])],
                                 "configuration": {"num_samples": 50, "output_types": ["mean", "quantiles", "samples"],
                                                   "quantiles": ["0.5", "0.9"]}})
    assert r.status_code == 200, r.text
    preds = _decode(r)["predictions"]
    assert len(preds) == 2
    for p in preds:
        samples = np.asarray(p["samples"])
        assert samples.shape == (50, dd.P)
        assert np.allclose(p["mean"], samples.mean(axis=0), rtol=1e-5)
        ordered = np.sort(samples, axis=0)
        assert sorted(p["quantiles"]) == ["0.5", "0.9"]
        assert np.allclose(p["quantiles"]["0.5"], ordered[int(round(49 * 0.5))], rtol=1e-5)
        assert np.allclose(p["quantiles"]["0.9"], ordered[int(round(49 * 0.9))], rtol=1e-5)


def test_deepar_endpoint_reproduces_trained_accuracy(elec):
    """The served artifact is the trained model: its forecast of the held-out year scores like the test
    channel did at the end of training (sampling noise aside)."""
    logged = elec.result.metrics(r"#quality_metric: host=\S+, test RMSE <loss>=(\S+)")[0]
    r = _post_json(elec.server, {"instances": [{"start": elec.start, "target": elec.y[:-dd.P].tolist()}],
                                 "configuration": {"num_samples": 200, "output_types": ["mean"]}})
    assert r.status_code == 200, r.text
    p, = _decode(r)["predictions"]
    assert set(p) == {"mean"}
    rmse = float(np.sqrt(np.mean((np.asarray(p["mean"]) - elec.y[-dd.P:]) ** 2)))
    assert rmse == pytest.approx(logged, rel=0.25)
    assert rmse < dd.seasonal_naive_rmse(elec.y)


def test_deepar_default_configuration(elec):
    r = _post_json(elec.server, {"instances": [{"start": elec.start, "target": elec.y[:60].tolist()}]})
    assert r.status_code == 200, r.text
    p, = _decode(r)["predictions"]
    assert set(p) == {"mean", "quantiles"}
    assert list(p["quantiles"]) == ["0.%d" % i for i in range(1, 10)]
    q = np.asarray([p["quantiles"][k] for k in p["quantiles"]])
    assert np.all(np.diff(q, axis=0) >= 0)


def test_deepar_batch_transform_lines_in_order(elec):
    lines = [{"start": elec.start, "target": (elec.y[:-dd.P] * scale).tolist()} for scale in (1, 100, 10)]
    ser = JSONLinesSerializer()
    r = elec.server.post(ser.serialize(lines), ser.CONTENT_TYPE, accept="application/jsonlines")
    assert r.status_code == 200, r.text
    import io
    out = JSONLinesDeserializer().deserialize(io.BytesIO(r.content), "application/jsonlines")
    assert len(out) == 3
    for o in out:  # DEEPAR_INFERENCE_CONFIG, not the default
        assert set(o) == set(SERVE_CONFIG["output_types"])
        assert np.asarray(o["samples"]).shape == (SERVE_CONFIG["num_samples"], dd.P)
    levels = [np.mean(o["mean"]) for o in out]
    assert levels[0] < levels[2] < levels[1]  # scales 1, 100, 10: one output line per input line, in order


def _multi_instance(rec):
    return {"start": rec["start"], "target": rec["target"][:-dd.P], "cat": rec["cat"],
            "dynamic_feat": [f[:len(rec["target"][:-dd.P]) + dd.P] for f in rec["dynamic_feat"]]}


def test_deepar_cat_and_dynamic_feat_served(multi):
    insts = [_multi_instance(r) for r in multi.test]
    r = _post_json(multi.server, {"instances": insts, "configuration": {"num_samples": 10}})
    assert r.status_code == 200, r.text
    preds = _decode(r)["predictions"]
    assert len(preds) == 3 and all(len(p["mean"]) == dd.P for p in preds)


@pytest.mark.parametrize("change, words", [
    (lambda i: i.pop("cat"), ["instances[1]", "cat"]),
    (lambda i: i.update(cat=[7]), ["instances[1]", "cardinality"]),
    (lambda i: i.update(dynamic_feat=[i["dynamic_feat"][0][:-1]]), ["instances[1]", "dynamic_feat", "length"]),
    (lambda i: i.update(start="not a date"), ["instances[1]", "start"]),
    (lambda i: i.update(target=[1.0, "many"]), ["instances[1]", "target"]),
])
def test_deepar_bad_requests_answer_400(multi, change, words):
    insts = [_multi_instance(r) for r in multi.test[:2]]
    change(insts[1])
    r = _post_json(multi.server, {"instances": insts})
    assert r.status_code == 400, r.text
    for w in words:
        assert w in r.text
    ok = _post_json(multi.server, {"instances": insts[:1], "configuration": {"num_samples": 5}})
    assert ok.status_code == 200  # the server keeps running


def test_deepar_bad_configuration_answers_400(elec):
    inst = {"start": elec.start, "target": elec.y[:40].tolist()}
    for cfg in ({"num_samples": 0}, {"output_types": ["median"]}, {"quantiles": ["1.5"]}):
        r = _post_json(elec.server, {"instances": [inst], "configuration": cfg})
        assert r.status_code == 400, (cfg, r.text)
    r = elec.server.post(b'{"start": "2001-01-01", "target": [1, 2', "application/jsonlines")
    assert r.status_code == 400 and "line 1" in r.text
