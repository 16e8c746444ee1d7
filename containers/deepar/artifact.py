"""The model artifact: GluonTS's serialised SymbolBlockPredictor, renamed to the service's file names.

    model_algo-1-symbol.json   GluonTS's prediction_net-symbol.json (the MXNet graph of the sampling network)
    model_algo-1-0000.params   GluonTS's prediction_net-0000.params (its parameters, MXNet NDArray file)
    model_algo-1-config.json   {"gluonts": {the other files GluonTS writes, by name, as JSON},
                                "deepar": {time_freq, schema, hyperparameters}}

load() writes the GluonTS layout back into a temporary folder and lets GluonTS deserialise it."""
import json
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "model_algo-1"
SYMBOL, PARAMS, CONFIG = PREFIX + "-symbol.json", PREFIX + "-0000.params", PREFIX + "-config.json"
_NET = "prediction_net"


def export(predictor, example, save_model, deepar_config):
    """predictor: the trained RepresentableBlockPredictor; example: a dataset of one series (traces the graph);
    save_model: job.save_model."""
    import warnings
    import mxnet as mx
    with mx.Context(mx.cpu()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MXNet cannot infer the dtype of unused graph inputs; harmless
        sym = predictor.as_symbol_block_predictor(dataset=example)
    tmp = tempfile.mkdtemp(prefix="deepar-export-")
    try:
        sym.serialize(Path(tmp))
        gluonts_files = {}
        for name in sorted(os.listdir(tmp)):
            if name in (_NET + "-symbol.json", _NET + "-0000.params"):
                continue
            with open(os.path.join(tmp, name)) as f:
                gluonts_files[name] = json.loads(f.read())
        config = {"gluonts": gluonts_files, "deepar": deepar_config}
        save_model(SYMBOL, lambda p: shutil.copyfile(os.path.join(tmp, _NET + "-symbol.json"), p))
        save_model(PARAMS, lambda p: shutil.copyfile(os.path.join(tmp, _NET + "-0000.params"), p))
        save_model(CONFIG, lambda p: _write_json(p, config))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def read_config(model_dir):
    with open(os.path.join(model_dir, CONFIG)) as f:
        return json.load(f)


def load(model_dir, ctx=None):
    """(GluonTS predictor, deepar config) from a model directory."""
    import warnings
    import mxnet as mx
    from gluonts.model.predictor import Predictor
    config = read_config(model_dir)
    tmp = tempfile.mkdtemp(prefix="deepar-load-")
    try:
        for name, content in config["gluonts"].items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(json.dumps(content))
        shutil.copyfile(os.path.join(model_dir, SYMBOL), os.path.join(tmp, _NET + "-symbol.json"))
        shutil.copyfile(os.path.join(model_dir, PARAMS), os.path.join(tmp, _NET + "-0000.params"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MXNet cannot infer the dtype of unused graph inputs; harmless
            predictor = Predictor.deserialize(Path(tmp), ctx=ctx or mx.cpu())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return predictor, config["deepar"]
