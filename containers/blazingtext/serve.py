"""BlazingText hosting: any fastText .bin (ours or trained elsewhere), supervised or Word2Vec.

Requests (application/json): {"instances": ["...", ...], "configuration": {"k": 2}}; batch transform
(application/jsonlines): one {"source": "...", "k": 2} per line. Answers are bare JSON lists (one
JSON object per line for JSON Lines): supervised {"label": [...], "prob": [...]}, Word2Vec
{"vector": [...], "word": "..."}. The guide: content type and accept must be equal, else Accept is
ignored, so the answer follows the request's content type.
"""
import json
import os

from containers.blazingtext.errors import ClientError

JSON = "application/json"
JSONLINES = "application/jsonlines"
NAMES = ("model.bin", "vectors.bin")


def find_model(model_dir):
    for name in NAMES:
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            return path
    bins = sorted(n for n in os.listdir(model_dir) if n.endswith(".bin"))
    if len(bins) == 1:
        return os.path.join(model_dir, bins[0])
    raise FileNotFoundError("%s holds no fastText model (model.bin, vectors.bin or one *.bin file; found %s)"
                            % (model_dir, ", ".join(sorted(os.listdir(model_dir))) or "nothing"))


def load(model_dir):
    import fasttext
    model = fasttext.FastText._FastText(model_path=find_model(model_dir))
    return Predictor(model)


def _k(value, where):
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ClientError("%s: k must be a positive integer, got %r" % (where, value))
    try:
        k = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        k = None
    if k is None or k < 1:
        raise ClientError("%s: k must be a positive integer, got %r" % (where, value))
    return k


def _text(value, where):
    if not isinstance(value, str):
        raise ClientError("%s: expected a string, got %s" % (where, type(value).__name__))
    return value


class Predictor:
    def __init__(self, model):
        self.model = model
        self.supervised = model.f.getArgs().model.name == "supervised"
        self.dim = model.get_dimension()

    # ---- requests --------------------------------------------------------------------------------
    def decode(self, body, request):
        if request.content_type.mime == JSONLINES:
            return self._decode_lines(body)
        try:
            obj = json.loads(body)
        except ValueError as e:
            raise ClientError("request body is not JSON: %s" % e) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("instances"), list):
            raise ClientError('expected {"instances": [...]} (a list of %s)'
                              % ("sentences" if self.supervised else "words"))
        config = obj.get("configuration") or {}
        if not isinstance(config, dict):
            raise ClientError('"configuration" must be an object such as {"k": 2}')
        k = _k(config.get("k"), "configuration")
        texts = [_text(v, "instance %d" % i) for i, v in enumerate(obj["instances"])]
        if not texts:
            raise ClientError('"instances" is empty')
        return {"texts": texts, "k": [k] * len(texts)}

    def _decode_lines(self, body):
        texts, ks = [], []
        for number, raw in enumerate(body.split(b"\n"), 1):
            if not raw.strip():
                continue
            where = "line %d" % number
            try:
                obj = json.loads(raw)
            except ValueError as e:
                raise ClientError("%s: not JSON (%s)" % (where, e)) from None
            if not isinstance(obj, dict) or "source" not in obj:
                raise ClientError('%s: expected {"source": "..."}' % where)
            texts.append(_text(obj["source"], where))
            ks.append(_k(obj.get("k"), where))
        if not texts:
            raise ClientError("no records in the request body")
        return {"texts": texts, "k": ks}

    # ---- model -----------------------------------------------------------------------------------
    def predict(self, data):
        texts = data["texts"]
        if not self.supervised:
            return [{"vector": self.model.get_word_vector(w).tolist(), "word": w} for w in texts]
        out = [None] * len(texts)
        for k in sorted(set(data["k"])):
            idx = [i for i, kk in enumerate(data["k"]) if kk == k]
            # fastText reads one line per text: line breaks inside a sentence are spaces
            lines = [" ".join(texts[i].split()) for i in idx]
            labels, probs = self.model.predict(lines, k=k, on_unicode_error="replace")
            for i, lab, pr in zip(idx, labels, probs):
                out[i] = {"label": list(lab), "prob": [float(p) for p in pr]}
        return out

    # ---- answers ---------------------------------------------------------------------------------
    def encode(self, outputs, request):
        if request.content_type.mime == JSONLINES:
            return "".join(json.dumps(o) + "\n" for o in outputs).encode()
        return json.dumps(outputs).encode()
