"""Serving the trained checkpoint: one image per request, the same probabilities as the checkpoint
loaded with mx.model.load_checkpoint; bare JSON list on endpoints, {"prediction": [...]} in batch
transform and JSON Lines; bodies that are not images are 400s and the server keeps serving."""
import io
import json
import os

import numpy as np
from sagemaker.deserializers import JSONDeserializer
from sagemaker.serializers import IdentitySerializer

from formats import images
from icdata import digits, reference_scores, split

N = 40


def _best_epoch(model):
    return max(int(n[-11:-7]) for n in os.listdir(model.model_dir) if n.endswith(".params"))


def test_endpoint_answers_the_checkpoints_probabilities_as_a_bare_list(rec_model, ic_server):
    _, va = split()
    va = va[:N]
    jpegs, y, _ = digits()
    ref = reference_scores(rec_model.model_dir, _best_epoch(rec_model), va)
    ser, des = IdentitySerializer("application/x-image"), JSONDeserializer()
    got = []
    for i in va:
        r = ic_server.post(ser.serialize(jpegs[i]), ser.CONTENT_TYPE, accept=des.ACCEPT[0])
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        got.append(des.deserialize(io.BytesIO(r.content), r.headers["Content-Type"]))
    got = np.array(got)
    assert got.shape == (N, 10)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert (got.argmax(axis=1) == y[va]).mean() >= 0.95


def test_every_image_content_type_and_png(rec_model, ic_server):
    _, va = split()
    jpegs, _, pixels = digits()
    i = int(va[0])
    ref = reference_scores(rec_model.model_dir, _best_epoch(rec_model), [i])[0]
    for ctype in ("image/jpeg", "application/octet-stream", "application/x-image"):
        r = ic_server.post(jpegs[i], ctype)
        assert r.status_code == 200, (ctype, r.text)
        np.testing.assert_allclose(json.loads(r.content), ref, atol=1e-5)
    # the lossless PNG of the same digit: not the JPEG's pixels, but the same class
    r = ic_server.post(images.encode_png(pixels[i]), "image/png", accept="*/*")
    assert r.status_code == 200 and int(np.argmax(json.loads(r.content))) == int(np.argmax(ref))


def test_jsonlines_and_batch_transform_answer_prediction_objects(rec_model, ic_server, ic_batch_server):
    _, va = split()
    jpegs, _, _ = digits()
    i = int(va[1])
    ref = reference_scores(rec_model.model_dir, _best_epoch(rec_model), [i])[0]
    r = ic_server.post(jpegs[i], "application/x-image", accept="application/jsonlines")
    assert r.status_code == 200 and r.text.endswith("\n")
    np.testing.assert_allclose(json.loads(r.text)["prediction"], ref, atol=1e-5)
    r = ic_batch_server.post(jpegs[i], "application/x-image", accept="application/json")
    assert r.status_code == 200
    assert list(json.loads(r.text)) == ["prediction"]
    np.testing.assert_allclose(json.loads(r.text)["prediction"], ref, atol=1e-5)


def test_a_body_that_is_not_an_image_is_a_400_and_the_server_keeps_serving(ic_server):
    jpegs, _, _ = digits()
    r = ic_server.post(b"hello, not an image", "application/x-image")
    assert r.status_code == 400 and "not a JPEG or PNG image" in r.text
    r = ic_server.post(b"\xff\xd8\xff\xe0" + b"\0" * 100, "image/jpeg")  # a JPEG header, then nothing
    assert r.status_code == 400 and "not a decodable image" in r.text
    r = ic_server.post(jpegs[0], "text/csv")
    assert r.status_code == 415
    r = ic_server.post(jpegs[0], "image/jpeg")
    assert r.status_code == 200 and len(json.loads(r.content)) == 10
