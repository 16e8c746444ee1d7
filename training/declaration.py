"""An algorithm's YAML declaration, and hyperparameter validation driven by it."""
import json
import math

import yaml

from training.errors import ClientError

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def load(path):
    with open(path) as f:
        decl = yaml.safe_load(f)
    for key in ("name", "module", "hyperparameters", "channels"):
        if key not in decl:
            raise ValueError("%s: declaration lacks %r" % (path, key))
    decl.setdefault("metrics", [])
    decl.setdefault("serving", {})
    return decl


def _describe(spec):
    t = spec["type"]
    if t == "enum":
        return "one of %s" % ", ".join(map(str, spec["values"]))
    if t == "list":
        return "a JSON list of %s" % ", ".join(map(str, spec["values"]))
    if t == "bool":
        return "true or false"
    kind = {"int": "an integer", "float": "a number", "string": "a string"}[t]
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None and hi is not None:
        kind += " in [%s, %s]" % (lo, hi)
    elif lo is not None:
        kind += " >= %s" % lo
    elif hi is not None:
        kind += " <= %s" % hi
    if spec.get("special"):
        kind += " or " + " or ".join(spec["special"])
    return kind


def convert(name, raw, spec):
    """Convert one raw (string) value per its spec, or raise ClientError naming it."""
    t = spec["type"]
    text = raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, (list, dict)) else str(raw)
    text = text.strip()

    def bad(why=""):
        return ClientError("hyperparameter %s: %r is not valid%s; expected %s"
                           % (name, raw, why, _describe(spec)))

    if spec.get("special") and text.lower() in [s.lower() for s in spec["special"]]:
        return text.lower()
    if t in ("int", "float"):
        try:
            value = float(text)
        except ValueError:
            raise bad() from None
        if math.isnan(value) or math.isinf(value):
            raise bad()
        if t == "int":
            if not value.is_integer():
                raise bad()
            value = int(value)
        lo, hi = spec.get("min"), spec.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise bad(" (out of range)")
        if spec.get("exclusive_min") is not None and value <= spec["exclusive_min"]:
            raise bad(" (out of range)")
        return value
    if t == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise bad()
    if t == "enum":
        for v in spec["values"]:
            if text == str(v) or text.lower() == str(v).lower():
                return v
        raise bad()
    if t == "list":
        try:
            items = json.loads(text.replace("'", '"'))
        except ValueError:
            items = [s.strip() for s in text.strip("[]").split(",") if s.strip()]
        if not isinstance(items, list):
            items = [items]
        allowed = spec.get("values")
        for it in items:
            if allowed is not None and str(it) not in map(str, allowed):
                raise bad(" (%r not allowed)" % it)
        if not items and not spec.get("allow_empty"):
            raise bad(" (empty)")
        return [str(i) for i in items]
    if t == "string":
        return text
    raise ValueError("declaration: unknown type %r for %s" % (t, name))


def validate(declared, given):
    """Typed hyperparameters with defaults filled in; ClientError on any violation."""
    given = dict(given or {})
    unknown = sorted(k for k in given if k not in declared and not k.startswith("_"))
    if unknown:
        raise ClientError("unknown hyperparameter%s %s; allowed: %s"
                          % ("s" if len(unknown) > 1 else "", ", ".join(unknown),
                             ", ".join(sorted(declared))))
    out = {}
    for name, spec in declared.items():
        if name in given and given[name] is not None:
            out[name] = convert(name, given[name], spec)
        elif spec.get("required"):
            raise ClientError("missing required hyperparameter %s (%s)" % (name, _describe(spec)))
        elif spec.get("default") is not None:
            out[name] = convert(name, spec["default"], spec)
        else:
            out[name] = None
    return out


def validate_channels(declared, inputdataconfig):
    """Unknown channels, missing required ones, wrong content types or modes: ClientError."""
    from formats.codecs import parse_media_type
    for name in inputdataconfig:
        if name not in declared:
            raise ClientError("unknown channel %s; this algorithm reads %s" % (name, ", ".join(declared)))
    for name, spec in declared.items():
        cfg = inputdataconfig.get(name)
        if cfg is None:
            if spec.get("required"):
                raise ClientError("missing required channel %s" % name)
            continue
        mime, _ = parse_media_type(cfg.get("ContentType"), spec["content_types"][0])
        if mime not in spec["content_types"]:
            raise ClientError("channel %s: content type %s is not supported; use one of %s"
                              % (name, cfg.get("ContentType"), ", ".join(spec["content_types"])))
        mode = cfg.get("TrainingInputMode", "File")
        if mode.lower() not in [m.lower() for m in spec.get("modes", ["File", "Pipe"])]:
            raise ClientError("channel %s: input mode %s is not supported" % (name, mode))
