"""DeepAR inference.

Endpoint: application/json {"instances": [...], "configuration": {...}} -> {"predictions": [...]}.
Batch transform: JSON Lines in the training format, configuration from DEEPAR_INFERENCE_CONFIG, one output
line per input line, in order. Each prediction: {"mean": [...], "quantiles": {"0.9": [...]}, "samples": [...]}.
"""
import json

import numpy as np

from contract.errors import ClientError
from containers.deepar import evaluation
from containers.deepar.frequency import Frequency
from containers.deepar.records import Schema, parse

JSON, JSONLINES = "application/json", "application/jsonlines"
OUTPUT_TYPES = ("mean", "quantiles", "samples")
DEFAULT_CONFIG = {"num_samples": 100, "output_types": ["mean", "quantiles"],
                  "quantiles": ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]}
MAX_SAMPLES = 10000


def configuration(raw, where):
    """A request's configuration, defaults filled in; ClientError on anything else."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ClientError("%s: configuration must be a JSON object" % where)
    unknown = sorted(set(raw) - {"num_samples", "output_types", "quantiles"})
    if unknown:
        raise ClientError("%s: unknown configuration field(s) %s; allowed: num_samples, output_types, quantiles"
                          % (where, ", ".join(unknown)))
    cfg = dict(DEFAULT_CONFIG, **raw)
    n = cfg["num_samples"]
    try:
        ok = not isinstance(n, bool) and float(n).is_integer() and 1 <= int(float(n)) <= MAX_SAMPLES
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ClientError("%s: num_samples must be an integer in [1, %d], not %r" % (where, MAX_SAMPLES, n))
    types = cfg["output_types"]
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types or any(t not in OUTPUT_TYPES for t in types):
        raise ClientError("%s: output_types must be a list drawn from %s, not %r"
                          % (where, ", ".join(OUTPUT_TYPES), cfg["output_types"]))
    quantiles = cfg["quantiles"]
    if not isinstance(quantiles, list):
        raise ClientError("%s: quantiles must be a list such as [\"0.1\", \"0.9\"]" % where)
    levels = []
    for q in quantiles:
        try:
            level = float(q)
        except (TypeError, ValueError):
            level = float("nan")
        if isinstance(q, bool) or not 0 <= level <= 1:
            raise ClientError("%s: quantile %r is not a number in [0, 1]" % (where, q))
        levels.append((str(q), level))  # answered under the key as the client spelled it
    return {"num_samples": int(float(n)), "output_types": types, "quantiles": levels}


class Request:
    def __init__(self, instances, config, lines):
        self.instances, self.config, self.lines = instances, config, lines


class DeepARPredictor:
    def __init__(self, predictor, deepar):
        self.predictor = predictor
        self.freq = Frequency(deepar["time_freq"])
        self.schema = Schema.from_json(deepar["schema"])

    # --- hooks ---------------------------------------------------------------------------------------
    def decode(self, body, request):
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        if not text.strip():
            raise ClientError("empty request body")
        obj = None
        if request.content_type.mime != JSONLINES:
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None  # several lines: JSON Lines whatever the content type says
        if isinstance(obj, dict) and "instances" in obj:
            if not isinstance(obj["instances"], list):
                raise ClientError("`instances` must be a list of time series")
            config = configuration(obj.get("configuration"), "configuration")
            raw = [("instances[%d]" % i, inst) for i, inst in enumerate(obj["instances"])]
            lines = False
        else:
            env = (request.environ or {}).get("DEEPAR_INFERENCE_CONFIG")
            try:
                env_cfg = json.loads(env) if env else None
            except ValueError:
                raise ClientError("DEEPAR_INFERENCE_CONFIG is not valid JSON: %r" % env) from None
            config = configuration(env_cfg, "DEEPAR_INFERENCE_CONFIG")
            raw = []
            for i, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    raw.append(("line %d" % i, json.loads(line)))
                except ValueError as e:
                    raise ClientError("line %d: not valid JSON (%s)" % (i, e)) from None
            lines = True
        instances = []
        for where, inst in raw:
            s = parse(inst, where, self.freq)
            self.schema.check(s, future=True)
            instances.append(s)
        return Request(instances, config, lines)

    def predict(self, req):
        if not req.instances:
            return []
        cfg = req.config
        data = [self.schema.entry(s) for s in req.instances]
        samples = [f.samples for f in self.predictor.predict(data, num_samples=cfg["num_samples"])]
        out = []
        for s in samples:
            s = s.astype(np.float64)
            pred = {}
            if "quantiles" in cfg["output_types"]:
                ordered = np.sort(s, axis=0)
                pred["quantiles"] = {key: evaluation.quantile(ordered, level).tolist()
                                     for key, level in cfg["quantiles"]}
            if "samples" in cfg["output_types"]:
                pred["samples"] = s.tolist()
            if "mean" in cfg["output_types"]:
                pred["mean"] = s.mean(axis=0).tolist()
            out.append(pred)
        return {"predictions": out, "lines": req.lines}

    def encode(self, outputs, request):
        predictions = outputs["predictions"] if outputs else []
        lines = outputs["lines"] if outputs else False
        explicit = _explicit_accept(request)
        if explicit == JSONLINES or (lines and explicit != JSON):
            return "".join(json.dumps(p) + "\n" for p in predictions).encode("utf-8")
        return json.dumps({"predictions": predictions}).encode("utf-8")


def _explicit_accept(request):
    """The Accept the client named (JSON or JSON Lines), None for */* or none: the input's form decides."""
    raw = ""
    for k, v in (request.headers or {}).items():
        if k.lower() == "accept":
            raw = v or ""
    if not raw.strip() or raw.strip().startswith("*/*"):
        return None
    return request.accept.mime


def load(model_dir):
    import warnings
    warnings.filterwarnings("ignore", message="Using `json`-module")  # GluonTS asks for orjson; json is fine
    from containers.deepar import artifact
    predictor, deepar = artifact.load(model_dir)
    return DeepARPredictor(predictor, deepar)
