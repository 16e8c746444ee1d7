"""Word2Vec artifacts: WS-353 rho as printed equals computing it by hand on vectors.txt; the files load
in gensim and fastText and agree with each other."""
import json
import os
import re

import fasttext
import numpy as np
from gensim.models import KeyedVectors
from gensim.models.fasttext import load_facebook_vectors
from scipy.stats import spearmanr

from bt_data import DATA


def _ws353():
    pairs = []
    with open(os.path.join(DATA, "wordsim353.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            a, b, s = line.rstrip("\n").split("\t")
            pairs.append((a, b, float(s)))
    return pairs


def test_bt_w2v_rho_equals_hand_computation(w2v_model):
    model_dir = w2v_model.result.model_dir
    kv = KeyedVectors.load_word2vec_format(os.path.join(model_dir, "vectors.txt"), binary=False)

    def vec(w):
        return kv[w] if w in kv.key_to_index else kv[w.lower()] if w.lower() in kv.key_to_index else None

    human, cosine, missing = [], [], 0
    pairs = _ws353()
    for a, b, s in pairs:
        va, vb = vec(a), vec(b)
        if va is None or vb is None:
            missing += 1
            continue
        va, vb = va.astype(np.float64), vb.astype(np.float64)
        human.append(s)
        cosine.append(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))
    rho = spearmanr(human, cosine).correlation
    printed = [float(v) for v in re.findall(r"#mean_rho: (\S+)", w2v_model.result.log)]
    assert len(printed) == 1 and abs(printed[0] - rho) < 1e-9
    with open(os.path.join(model_dir, "eval.json")) as f:
        ev = json.load(f)
    assert ev["EN-WS-353-ALL.txt"] == {"not_found": missing, "spearmans_rho": ev["mean_rho"],
                                       "total_pairs": len(pairs)}
    assert abs(ev["mean_rho"] - rho) < 1e-9
    assert 0 < missing < len(pairs)  # the Lee corpus covers part of WS-353


def test_bt_w2v_artifacts_load_in_gensim_and_fasttext(w2v_model):
    model_dir = w2v_model.result.model_dir
    kv = KeyedVectors.load_word2vec_format(os.path.join(model_dir, "vectors.txt"), binary=False)
    ft = fasttext.load_model(os.path.join(model_dir, "vectors.bin"))
    fb = load_facebook_vectors(os.path.join(model_dir, "vectors.bin"))
    words = ft.get_words()
    assert kv.index_to_key == words  # most frequent first, as fastText orders them
    assert kv.vector_size == ft.get_dimension() == 30
    for w in ["the", "government", "Australia"]:
        assert np.allclose(kv[w], ft.get_word_vector(w), rtol=1e-4, atol=1e-6)
        assert np.allclose(fb[w], ft.get_word_vector(w), atol=1e-6)
    # min_count=2: exactly the words seen twice or more, plus fastText's end-of-line token
    counts = {}
    with open(os.path.join(DATA, "lee_background.cor"), "rb") as f:
        for line in f:
            for t in line.split():
                counts[t] = counts.get(t, 0) + 1
    assert set(words) == {w.decode() for w, c in counts.items() if c >= 2} | {"</s>"}


def test_bt_w2v_log_lines(w2v_model):
    log = w2v_model.result.log
    assert re.search(r"##### Alpha: 0\.0000  Progress: 100\.00%  Million Words/sec: [\d.]+ #####", log)
    assert "Evaluating word embeddings...." in log
    assert "Vectors read from: " in log


def test_bt_cbow_subwords_on_two_threads(tmp_path):
    """Subword vectors in vectors.txt and for unknown words when served; progress lines while training
    (fastText reports progress only while several threads train)."""
    from bt_data import ALGO, read, text_channel
    from helpers import job_dir, run_train, served
    hp = {"mode": "cbow", "subwords": "true", "min_char": 3, "max_char": 5, "epochs": 3, "vector_dim": 20,
          "buckets": 2000, "min_count": 2, "evaluation": "false"}
    base = job_dir(tmp_path, hp, {"train": text_channel(read("lee_background.cor") * 2)})
    r = run_train(base, ALGO, env={"OMP_NUM_THREADS": "2"})
    assert r.rc == 0, r.log[-3000:]
    progress = re.findall(r"##### Alpha: (\S+)  Progress: (\S+)%  Million Words/sec: (\S+) #####", r.log)
    assert len(progress) >= 2 and progress[-1][1] == "100.00"
    steps = [float(p) for _, p, _ in progress]
    alphas = [float(a) for a, _, _ in progress]
    assert steps == sorted(steps) and alphas == sorted(alphas, reverse=True)
    assert sorted(os.listdir(r.model_dir)) == ["vectors.bin", "vectors.txt"]  # evaluation=false
    ft = fasttext.load_model(os.path.join(r.model_dir, "vectors.bin"))
    assert (ft.f.getArgs().minn, ft.f.getArgs().maxn, ft.f.getArgs().bucket) == (3, 5, 2000)
    kv = KeyedVectors.load_word2vec_format(os.path.join(r.model_dir, "vectors.txt"))
    assert np.allclose(kv["government"], ft.get_word_vector("government"), rtol=1e-4, atol=1e-6)
    with served(base, ALGO) as server:
        resp = server.post(json.dumps({"instances": ["governmentalities"]}), "application/json")
    assert resp.status_code == 200
    oov = np.float32(resp.json()[0]["vector"])
    assert oov.any() and np.array_equal(oov, ft.get_word_vector("governmentalities"))
