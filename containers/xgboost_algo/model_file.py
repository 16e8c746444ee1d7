"""xgboost-model in every format the service's images wrote, read without running pickled code.

- save_model output (images 1.3 on, and ours): JSON, UBJSON, the `binf` binary (xgboost 1.1-1.7) and
  the legacy binary without a header (xgboost < 1.1): Booster.load_model takes them all.
- a pickled Booster (images 0.72 to 1.2): Python 2 protocol 0 or 2 from the 0.72 image, Python 3 protocol
  3 or 4 later. Booster.__getstate__ put the model bytes under `handle`: the legacy binary (xgboost
  < 1.0, which today's library refuses to unpickle), a "CONFIG-offset:" snapshot (1.0-1.3: binary model
  then JSON config), or a JSON / UBJSON snapshot {"Config", "Model"} (1.4 on).

Unpickling is code execution, so the unpickler here resolves no global but a stand-in for the Booster
(which only keeps the state dict) and the few builtins the Booster's state is made of; the model bytes
found under `handle` go to the library's own loaders. Anything else is refused with the reason.
"""
import io
import json
import logging
import pickle
import re
import struct

log = logging.getLogger(__name__)

CONFIG_HEADER = b"CONFIG-offset:"


class _BoosterState:
    """Stands in for xgboost.core.Booster while unpickling: keeps the pickled state, constructs nothing."""

    def __init__(self):
        self.state = None

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("a Booster's pickled state is a dict, got %s" % type(state).__name__)
        self.state = state


def _reconstructor(cls, base, state):
    """copy_reg._reconstructor, as protocol 0/1 pickles of a new-style object call it: the Booster only."""
    if cls is not _BoosterState or base is not object or state is not None:
        raise pickle.UnpicklingError("copy_reg._reconstructor is only accepted for an xgboost Booster")
    return _BoosterState()


def _bytearray(*args):
    """bytearray(bytes), or bytearray(text, 'latin-1') as Python 2 pickled it."""
    if not args:
        return bytearray()
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin-1", "latin1"):
        return bytearray(args[0], "latin-1")
    raise pickle.UnpicklingError("unexpected bytearray arguments in the pickle")


def _bytes(*args):
    if not args:
        return b""
    raise pickle.UnpicklingError("unexpected bytes arguments in the pickle")


def _codecs_encode(text, encoding):
    """_codecs.encode(text, 'latin1'): how Python 3 pickles bytes at protocols 0-2."""
    if isinstance(text, str) and encoding in ("latin1", "latin-1"):
        return text.encode("latin-1")
    raise pickle.UnpicklingError("unexpected _codecs.encode arguments in the pickle")


_GLOBALS = {
    ("xgboost.core", "Booster"): _BoosterState,
    ("copy_reg", "_reconstructor"): _reconstructor, ("copyreg", "_reconstructor"): _reconstructor,
    ("__builtin__", "object"): object, ("builtins", "object"): object,
    ("__builtin__", "bytearray"): _bytearray, ("builtins", "bytearray"): _bytearray,
    ("builtins", "bytes"): _bytes, ("_codecs", "encode"): _codecs_encode,
}


class Refused(pickle.UnpicklingError):
    pass


class _BoosterUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise Refused("refusing to unpickle %s.%s: only an xgboost Booster is accepted" % (module, name)) from None

    def persistent_load(self, pid):
        raise Refused("refusing a pickle with persistent ids")


# A pickle opens with PROTO (protocol 2+) or, at protocol 0/1, with GLOBAL ("c" module "\n" name "\n") or
# MARK/EMPTY_DICT; a legacy binary model opens with a float32 base_score, so these are only candidates.
_PICKLE_START = re.compile(rb"\A(?:\x80[\x02-\x05]|c[A-Za-z_][\w.]*\n[A-Za-z_]\w*\n|\((?:c|d|l|t)|\}|\])")


def _unpickle(raw):
    """The state dict of a pickled Booster."""
    obj = _BoosterUnpickler(io.BytesIO(raw), encoding="latin1").load()
    if not isinstance(obj, _BoosterState) or obj.state is None:
        raise ValueError("it holds a pickled %s, not an xgboost Booster" % type(obj).__name__)
    handle = obj.state.get("handle")
    if isinstance(handle, str):  # a Python 2 str read back with encoding="latin1"
        obj.state["handle"] = handle = handle.encode("latin-1")
    if not isinstance(handle, (bytes, bytearray)) or not handle:
        raise ValueError("the pickled Booster carries no model bytes under 'handle'")
    return obj.state


def _load_model(raw):
    import xgboost as xgb
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


def _unserialize(raw):
    """A snapshot (Booster.__getstate__'s handle from xgboost 1.4 on) through the library's own reader."""
    import xgboost as xgb
    booster = xgb.Booster.__new__(xgb.Booster)
    booster.__setstate__({"handle": bytearray(raw)})
    return booster


def _from_handle(raw):
    """(booster, description) from the bytes a pickled Booster kept under `handle`."""
    if raw.startswith(CONFIG_HEADER):
        # xgboost 1.0-1.3: header, int64 offset of the JSON config, the binary model, the config
        start = len(CONFIG_HEADER) + 8
        (offset,) = struct.unpack_from("<q", raw, len(CONFIG_HEADER))
        if not 0 < offset <= len(raw) - start:
            raise ValueError("a CONFIG-offset snapshot with a bad offset %d" % offset)
        return _load_model(raw[start:start + offset]), "xgboost 1.0-1.3 snapshot"
    if raw[:1] == b"{":
        try:
            return _unserialize(raw), "xgboost 1.4+ snapshot"
        except Exception as e:
            if raw[1:2] != b'"':
                raise
            try:  # a JSON snapshot whose config this library does not take: the model part alone
                model = json.loads(bytes(raw))["Model"]
            except (ValueError, KeyError, TypeError):
                raise e from None
            return _load_model(json.dumps(model).encode()), "xgboost 1.4+ JSON snapshot (model part)"
    return _load_model(raw), "binary model (xgboost < 1.0)" if raw[:4] != b"binf" else "binf binary model"


def _first_line(e):
    text = str(e).strip()
    line = text.splitlines()[0] if text else type(e).__name__
    return re.sub(r"^\[[^\]]*\]\s*\S+:\d+:\s*", "", line)


def _best_rounds(booster, state):
    """Rounds the service predicted with: it passed ntree_limit=best_ntree_limit for pickled Boosters."""
    limit = state.get("best_ntree_limit")
    if not isinstance(limit, int) or limit <= 0:
        return None
    try:
        config = json.loads(booster.save_config())["learner"]["gradient_booster"]
        if config.get("name") == "gblinear":
            return None
        parallel = int(config.get("gbtree_model_param", config.get("gbtree", {}).get("gbtree_model_param", {}))
                       .get("num_parallel_tree", 1))
    except (ValueError, KeyError, TypeError, AttributeError):
        parallel = 1
    rounds = limit // max(parallel, 1)
    return rounds if 0 < rounds < booster.num_boosted_rounds() else None


def _from_state(path, state):
    import xgboost as xgb
    try:
        booster, kind = _from_handle(bytes(state["handle"]))
    except (xgb.core.XGBoostError, ValueError) as e:
        raise ValueError("%s is a pickled Booster whose model bytes xgboost cannot load: %s"
                         % (path, _first_line(e))) from None
    rounds = _best_rounds(booster, state)
    if rounds is not None:
        try:
            sliced = booster[:rounds]
        except (xgb.core.XGBoostError, ValueError) as e:
            log.warning("%s: best_ntree_limit %d ignored, the model cannot be sliced: %s", path,
                        state["best_ntree_limit"], _first_line(e))
        else:
            log.info("%s: keeping the first %d of %d rounds (the pickle's best_ntree_limit %d, as the service "
                     "predicted)", path, rounds, booster.num_boosted_rounds(), state["best_ntree_limit"])
            booster = sliced
    log.info("%s: pickled Booster, %s", path, kind)
    return booster


def read(path):
    """The Booster in `path`, whatever format the service's images wrote it in. ValueError says why not."""
    import xgboost as xgb
    with open(path, "rb") as f:
        raw = f.read()
    pickle_error = None
    if _PICKLE_START.match(raw):
        try:
            state = _unpickle(raw)
        except Refused as e:
            raise ValueError("%s is a pickle that is not an xgboost Booster: %s" % (path, e)) from None
        except ValueError as e:
            raise ValueError("%s is a pickle but %s" % (path, e)) from None
        except Exception as e:  # perhaps a binary model whose first bytes look like a pickle's
            pickle_error = _first_line(e)
        else:
            return _from_state(path, state)
    try:
        booster = _load_model(raw)
    except xgb.core.XGBoostError as e:
        if pickle_error and raw[:1] == b"\x80":
            raise ValueError("%s is a pickle but not of an xgboost Booster: %s" % (path, pickle_error)) from None
        raise ValueError("%s is neither an xgboost model (JSON, UBJSON or binary) nor a pickled Booster: %s%s"
                         % (path, _first_line(e), "; as a pickle: " + pickle_error if pickle_error else "")) from None
    kind = "JSON or UBJSON" if raw[:1] == b"{" else "binf binary" if raw[:4] == b"binf" else "legacy binary"
    log.info("%s: %s model", path, kind)
    return booster
