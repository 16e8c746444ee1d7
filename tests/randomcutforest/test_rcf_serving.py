"""The real `serve` program: every content type in and out (read with the official client where it
has a reader), the model unchanged by inference, the artifact readable with numpy, bad requests."""
import hashlib
import io
import json
import os

import numpy as np
import requests
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor
from sagemaker.deserializers import JSONDeserializer
from sagemaker.serializers import CSVSerializer, JSONLinesSerializer

import rcfdata
from rcfdata import scores_of
from containers.randomcutforest import artifact
from rcfdata import CSV, RIO


def _model_digest(model):
    with open(os.path.join(model.base, "model", artifact.MODEL_FILE), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_rcf_every_content_type_and_accept_gives_the_same_scores(mixture_model):
    server = mixture_model.server
    X = mixture_model.Xte[:40]
    ref = scores_of(server, X)
    # JSON in the service's shapes: dense features, the data/features/values form, sparse keys
    dense = {"instances": [{"features": r.tolist()} for r in X]}
    nested = {"instances": [{"data": {"features": {"values": r.tolist()}}} for r in X]}
    sparse = {"instances": [{"data": {"features": {"keys": list(range(10)), "shape": [10],
                                                   "values": r.tolist()}}} for r in X]}
    for body in (dense, nested, sparse):
        r = server.post(json.dumps(body).encode(), "application/json")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        got = JSONDeserializer().deserialize(io.BytesIO(r.content), "application/json")
        assert list(got) == ["scores"] and list(got["scores"][0]) == ["score"]
        np.testing.assert_allclose([s["score"] for s in got["scores"]], ref, rtol=1e-9)
    # JSON Lines in (the official client's serializer), JSON Lines out
    lines = JSONLinesSerializer().serialize([{"features": r.tolist()} for r in X])
    r = server.post(lines.encode() if isinstance(lines, str) else lines, "application/jsonlines",
                    accept="application/jsonlines")
    np.testing.assert_allclose([json.loads(l)["score"] for l in r.text.splitlines()], ref, rtol=1e-9)
    # recordIO in (float64 tensors, as the client writes numpy's default dtype), recordIO out
    buf = io.BytesIO()
    write_numpy_to_dense_tensor(buf, X.astype(np.float64))
    r = server.post(buf.getvalue(), RIO, accept=RIO)
    assert r.status_code == 200
    recs = read_records(io.BytesIO(r.content))
    assert len(recs) == len(X)
    np.testing.assert_allclose([rec.label["score"].float32_tensor.values[0] for rec in recs], ref, rtol=1e-6)
    # CSV in (the client's serializer) and out
    r = server.post(CSVSerializer().serialize(X.tolist()).encode(), CSV, accept=CSV)
    np.testing.assert_allclose([float(v) for v in r.text.split()], ref, rtol=1e-6)


def test_rcf_inference_never_changes_the_model(mixture_model):
    server = mixture_model.server
    before = _model_digest(mixture_model)
    X = mixture_model.Xte[:300]
    first = scores_of(server, X)
    singles = np.array([scores_of(server, X[i:i + 1])[0] for i in range(0, 300, 30)])
    again = scores_of(server, X)
    np.testing.assert_array_equal(first, again)
    # a record's score does not depend on the others in its request
    np.testing.assert_allclose(singles, first[::30], rtol=1e-9)
    assert _model_digest(mixture_model) == before


def test_rcf_bad_requests_are_400_and_the_server_keeps_running(mixture_model):
    server = mixture_model.server
    r = server.post(b"1,2,3\n", CSV)
    assert r.status_code == 400 and "10 features" in r.text
    r = server.post(json.dumps({"instances": [{"features": [1.0] * 11}]}).encode(), "application/json")
    assert r.status_code == 400 and "10 features" in r.text
    r = server.post(b"nan" + b",1" * 9 + b"\n", CSV)
    assert r.status_code == 400
    assert requests.get(server.url + "/ping").status_code == 200
    assert scores_of(server, mixture_model.Xte[:2]).shape == (2,)


def test_rcf_artifact_is_flat_arrays_numpy_reads(sine_model):
    path = os.path.join(sine_model.base, "model", artifact.MODEL_FILE)
    z = np.load(path)
    meta = json.loads(bytes(z["forest.json"]))
    assert meta["format"] == "randomcutforest-flat" and meta["num_trees"] == 100
    left, lower, upper = z["left"], z["lower"], z["upper"]
    cut_dim, cut_value, mass, roots = z["cut_dim"], z["cut_value"], z["mass"], z["roots"]
    inner = np.nonzero(left >= 0)[0]
    # children's boxes inside the parent's; the cut inside the parent's box; masses add up
    for child in (left[inner], left[inner] + 1):
        assert (lower[child] >= lower[inner]).all() and (upper[child] <= upper[inner]).all()
        assert (mass[child] >= 1).all()
    assert (mass[left[inner]] + mass[left[inner] + 1] == mass[inner]).all()
    c = cut_value[inner]
    assert (lower[inner, cut_dim[inner]] <= c).all() and (c < upper[inner, cut_dim[inner]]).all()
    assert (upper[left[inner], cut_dim[inner]] <= c).all() and (lower[left[inner] + 1, cut_dim[inner]] > c).all()
    assert (mass[roots] == 256).all()
    leaves = left < 0
    assert (lower[leaves] == upper[leaves]).all()
    # loaded as memory maps of the file: no copy, no pickle
    forest, _ = artifact.load(path)
    assert isinstance(forest.lower, np.memmap) and isinstance(forest.left, np.memmap)
