"""Inference in the service's shapes, read with the official client's (de)serializers, against fastText
on the same .bin; models trained elsewhere (the fastText files gensim ships) serve too."""
import io
import json
import os
import shutil
import tarfile

import fasttext
import numpy as np
import pytest
from sagemaker.deserializers import JSONDeserializer, JSONLinesDeserializer
from sagemaker.serializers import JSONLinesSerializer, JSONSerializer

from bt_data import ALGO, DATA, polarity_split
from helpers import served

SENTENCES = ["a gorgeous , witty , seductive movie .", "simplistic , silly and tedious .",
             "the story is also as unoriginal as they come"]


def _post(server, payload, serializer, deserializer, accept=None):
    r = server.post(serializer.serialize(payload), serializer.CONTENT_TYPE,
                    accept=accept or serializer.CONTENT_TYPE)
    assert r.status_code == 200, r.text
    return deserializer.deserialize(io.BytesIO(r.content), r.headers.get("Content-Type"))


def test_bt_serving_word_vectors(w2v_model):
    ft = fasttext.load_model(os.path.join(w2v_model.result.model_dir, "vectors.bin"))
    words = ["the", "Australia", "qqzzxxnotaword"]
    got = _post(w2v_model.server, {"instances": words}, JSONSerializer(), JSONDeserializer())
    assert isinstance(got, list) and [g["word"] for g in got] == words
    for g, w in zip(got, words):
        assert sorted(g) == ["vector", "word"]
        assert np.array_equal(np.asarray(g["vector"], dtype=np.float32), ft.get_word_vector(w))
    assert not any(got[2]["vector"]) and len(got[2]["vector"]) == 30  # unknown word, no subwords: zeros


def test_bt_serving_top_k(supervised_model):
    ft = fasttext.load_model(os.path.join(supervised_model.result.model_dir, "model.bin"))
    server = supervised_model.server
    got = _post(server, {"instances": SENTENCES, "configuration": {"k": 2}}, JSONSerializer(), JSONDeserializer())
    labels, probs = ft.predict(SENTENCES, k=2)
    assert [g["label"] for g in got] == [list(l) for l in labels]
    assert all(np.array_equal(np.float32(g["prob"]), p) for g, p in zip(got, probs))
    assert all(sorted(g) == ["label", "prob"] and len(g["label"]) == 2 for g in got)
    one = _post(server, {"instances": SENTENCES[:1]}, JSONSerializer(), JSONDeserializer())
    assert one == [{"label": [labels[0][0]], "prob": [got[0]["prob"][0]]}]  # k defaults to 1


def test_bt_serving_batch_transform_jsonlines(supervised_model):
    ft = fasttext.load_model(os.path.join(supervised_model.result.model_dir, "model.bin"))
    records = [{"source": SENTENCES[0], "k": 2}, {"source": SENTENCES[1]}, {"source": SENTENCES[2], "k": 1}]
    got = _post(supervised_model.server, records, JSONLinesSerializer(), JSONLinesDeserializer())
    assert len(got) == 3
    for g, rec in zip(got, records):
        labels, probs = ft.predict(rec["source"], k=rec.get("k", 1))
        assert g["label"] == list(labels) and np.array_equal(np.float32(g["prob"]), probs)


@pytest.mark.parametrize("body, ctype, words", [
    (b"not json", "application/json", "not JSON"),
    (b'{"sentences": ["a"]}', "application/json", "instances"),
    (b'{"instances": ["a"], "configuration": {"k": 0}}', "application/json", "k must be"),
    (b'{"instances": [3]}', "application/json", "instance 0"),
    (b'{"source": "fine"}\n{"text": "no source"}\n', "application/jsonlines", "line 2"),
])
def test_bt_serving_bad_requests_answer_400(supervised_model, body, ctype, words):
    server = supervised_model.server
    r = server.post(body, ctype)
    assert r.status_code == 400 and words in r.text
    assert server.post(json.dumps({"instances": ["still up"]}), "application/json").status_code == 200


def test_bt_serving_models_trained_elsewhere(tmp_path):
    # a Word2Vec .bin with subwords (gensim's lee_fasttext_new.bin), as a tarball holding only it
    w2v = tmp_path / "w2v"
    (w2v / "model").mkdir(parents=True)
    with tarfile.open(w2v / "model" / "model.tar.gz", "w:gz") as tar:
        tar.add(os.path.join(DATA, "lee_fasttext_new.bin"), arcname="vectors.bin")
    ft = fasttext.load_model(os.path.join(DATA, "lee_fasttext_new.bin"))
    with served(w2v, ALGO) as server:
        got = _post(server, {"instances": ["government", "governmentality"]}, JSONSerializer(), JSONDeserializer())
    oov = got[1]["vector"]
    assert any(oov) and np.array_equal(np.float32(oov), ft.get_word_vector("governmentality"))
    assert np.array_equal(np.float32(got[0]["vector"]), ft.get_word_vector("government"))

    # a supervised fastText model.bin
    sup = tmp_path / "sup"
    (sup / "model").mkdir(parents=True)
    shutil.copy(os.path.join(DATA, "pang_lee_polarity_fasttext.bin"), sup / "model" / "model.bin")
    ft = fasttext.load_model(os.path.join(DATA, "pang_lee_polarity_fasttext.bin"))
    sentences = [l.decode("latin-1").split(" ", 1)[1].strip() for l in polarity_split()[1].splitlines()[:5]]
    with served(sup, ALGO) as server:
        got = _post(server, {"instances": sentences, "configuration": {"k": 2}}, JSONSerializer(),
                    JSONDeserializer())
    labels, probs = ft.predict(sentences, k=2)
    assert [g["label"] for g in got] == [list(l) for l in labels]
    assert all(np.array_equal(np.float32(g["prob"]), p) for g, p in zip(got, probs))
