"""Small real corpora gensim ships, and job layouts for BlazingText tests."""
import os

import gensim

ALGO = "blazingtext"
DATA = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data")
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # fastText is deterministic on one thread


def read(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def polarity_split():
    """(train bytes, validation bytes): every 4th line of the __label__ polarity corpus validates."""
    lines = read("pang_lee_polarity.cor").splitlines()
    train = b"".join(l + b"\n" for i, l in enumerate(lines) if i % 4)
    valid = b"".join(l + b"\n" for i, l in enumerate(lines) if i % 4 == 0)
    return train, valid


def text_channel(data, name="part.txt", **kw):
    return dict({"content_type": "text/plain", "files": {name: data}}, **kw)


# Supervised parameters small enough for a test, large enough that the model learns the train split.
SUPERVISED_HP = {"mode": "supervised", "epochs": 20, "learning_rate": 0.5, "vector_dim": 20,
                 "buckets": 1000, "word_ngrams": 2, "min_count": 1}


def fasttext_supervised_args(hp, path):
    """The same run as fastText's own Python API call (the oracle)."""
    return dict(input=path, lr=hp["learning_rate"], dim=hp["vector_dim"], epoch=hp["epochs"],
                minCount=hp["min_count"], bucket=hp["buckets"], wordNgrams=hp["word_ngrams"],
                loss="softmax", thread=1, verbose=0)
