"""An algorithm's YAML declaration: checked when loaded, and the hyperparameter and channel validation
driven by it. The format is documented in containers/README.md."""
import fnmatch
import json
import logging
import math
import re

import yaml

# libyaml's loader where PyYAML has it: the pure-Python one takes a second for every declaration
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from contract.errors import ClientError

log = logging.getLogger("contract")

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}

TOP_KEYS = {"name", "module", "training", "serving", "extras", "ignored", "hyperparameters", "channels",
            "metrics", "tunable", "description", "training_threads"}
HP_KEYS = {"type", "required", "default", "min", "max", "exclusive_min", "values", "special", "allow_empty",
           "aliases", "required_if", "items", "description"}
HP_TYPES = {"int", "float", "bool", "string", "enum", "list"}
CHANNEL_KEYS = {"required", "content_types", "modes", "distributions", "description"}
SERVING_KEYS = {"module", "content_types", "accept", "default_accept", "json_root"}
METRIC_KEYS = {"name", "regex", "channel", "metric", "kind", "per_epoch", "direction", "description"}
TUNABLE_KEYS = {"type", "min", "max", "values", "scaling"}
TUNABLE_TYPES = {"Integer", "Continuous", "Categorical"}
DIRECTIONS = {"Maximize", "Minimize"}


class DeclarationError(ValueError):
    """The algorithm.yaml itself is wrong: a bug in the algorithm folder, caught by its tests."""


def metric_regex(metric):
    """The regex for a metric: the given one, or the one matching what Metrics.quality prints."""
    if metric.get("regex"):
        return metric["regex"]
    epoch = r"epoch=\S+, " if metric.get("per_epoch") else ""
    return r"#quality_metric: host=\S+, %s%s %s <%s>=(\S+)" % (
        epoch, re.escape(metric["channel"]), re.escape(metric["metric"]), metric.get("kind", "loss"))


def _check(path, decl):
    def fail(msg):
        raise DeclarationError("%s: %s" % (path, msg))

    def unknown(keys, allowed, where):
        extra = sorted(set(keys) - allowed)
        if extra:
            fail("unknown key%s %s in %s; allowed: %s" % ("s" if len(extra) > 1 else "", ", ".join(extra),
                                                         where, ", ".join(sorted(allowed))))

    if not isinstance(decl, dict):
        fail("not a mapping")
    unknown(decl, TOP_KEYS, "the declaration")
    for key in ("name", "hyperparameters", "channels"):
        if key not in decl:
            fail("lacks %r" % key)
    if not (decl.get("training") or decl.get("module")):
        fail("names no training module ('training:')")
    if not ((decl.get("serving") or {}).get("module") or decl.get("module")):
        fail("names no serving module ('serving: module:')")
    if decl.get("training_threads", "default") not in ("default", "all"):
        fail("training_threads must be default or all, not %r" % decl["training_threads"])
    hps = decl["hyperparameters"] or {}
    aliases = {}
    for name, spec in hps.items():
        if not isinstance(spec, dict) or "type" not in spec:
            fail("hyperparameter %s needs a type" % name)
        unknown(spec, HP_KEYS, "hyperparameter %s" % name)
        if spec["type"] not in HP_TYPES:
            fail("hyperparameter %s: unknown type %r" % (name, spec["type"]))
        if spec["type"] == "enum" and not spec.get("values"):
            fail("hyperparameter %s: an enum needs values" % name)
        for alias in spec.get("aliases") or []:
            if alias in hps or alias in aliases:
                fail("hyperparameter %s: alias %s is taken" % (name, alias))
            aliases[alias] = name
        for other in (spec.get("required_if") or {}):
            if other not in hps:
                fail("hyperparameter %s: required_if names %s, which is not a hyperparameter" % (name, other))
    for name, spec in (decl["channels"] or {}).items():
        unknown(spec, CHANNEL_KEYS, "channel %s" % name)
        if not spec.get("content_types"):
            fail("channel %s lists no content_types" % name)
    unknown(decl.get("serving") or {}, SERVING_KEYS, "serving")
    seen = set()
    for m in decl.get("metrics") or []:
        unknown(m, METRIC_KEYS, "metric %s" % m.get("name"))
        if not m.get("name"):
            fail("a metric has no name")
        if m["name"] in seen:
            fail("metric %s is declared twice" % m["name"])
        seen.add(m["name"])
        if m.get("direction") not in DIRECTIONS:
            fail("metric %s: direction must be Maximize or Minimize, not %r" % (m["name"], m.get("direction")))
        if not m.get("regex") and not (m.get("channel") and m.get("metric")):
            fail("metric %s: give a regex, or channel and metric" % m["name"])
        if m.get("kind", "loss") not in ("loss", "score"):
            fail("metric %s: kind is loss or score" % m["name"])
        try:
            if re.compile(metric_regex(m)).groups < 1:
                fail("metric %s: the regex captures no value" % m["name"])
        except re.error as e:
            fail("metric %s: bad regex: %s" % (m["name"], e))
    for name, spec in (decl.get("tunable") or {}).items():
        if name not in hps:
            fail("tunable %s is not a hyperparameter" % name)
        unknown(spec, TUNABLE_KEYS, "tunable %s" % name)
        if spec.get("type") not in TUNABLE_TYPES:
            fail("tunable %s: type must be one of %s" % (name, ", ".join(sorted(TUNABLE_TYPES))))
    for name in decl.get("ignored") or []:
        if name in hps:
            fail("ignored name %s is also a hyperparameter" % name)


def load(path):
    with open(path) as f:
        decl = yaml.load(f, Loader=_LOADER)
    _check(path, decl)
    decl.setdefault("metrics", [])
    decl["serving"] = dict(decl.get("serving") or {})
    decl.setdefault("training", decl.get("module"))
    decl["serving"].setdefault("module", decl.get("module"))
    decl.setdefault("extras", [])
    decl.setdefault("training_threads", "default")
    decl.setdefault("ignored", [])
    decl.setdefault("tunable", {})
    for m in decl["metrics"]:
        m["regex"] = metric_regex(m)
    decl["path"] = path
    return decl


def _describe(spec):
    t = spec["type"]
    if t == "enum":
        return "one of %s" % ", ".join(map(str, spec["values"]))
    if t == "list":
        what = ", ".join(map(str, spec["values"])) if spec.get("values") else \
            {"int": "integers", "float": "numbers"}.get(spec.get("items"), "values")
        return "a list of %s (JSON, or comma-separated)" % what
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


def _list_items(text):
    """A JSON list, a Python-repr list, a comma-separated string or a bare scalar -> list."""
    try:
        items = json.loads(text)
    except ValueError:
        try:
            items = json.loads(text.replace("'", '"'))
        except ValueError:
            items = [s.strip().strip("'\"") for s in text.strip().strip("[]").split(",") if s.strip()]
    return items if isinstance(items, list) else [items]


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
        items = _list_items(text)
        allowed = spec.get("values")
        for it in items:
            if allowed is not None and str(it) not in map(str, allowed):
                raise bad(" (%r not allowed)" % it)
        if not items and not spec.get("allow_empty"):
            raise bad(" (empty)")
        kind = spec.get("items")
        if kind in ("int", "float"):
            try:
                out = [float(i) for i in items]
            except (TypeError, ValueError):
                raise bad() from None
            if kind == "int":
                if not all(v.is_integer() for v in out):
                    raise bad()
                out = [int(v) for v in out]
            return out
        return [str(i) for i in items]
    if t == "string":
        return text
    raise ValueError("declaration: unknown type %r for %s" % (t, name))


def _matches(value, patterns):
    if isinstance(patterns, (str, int, float, bool)):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(str(value), str(p)) for p in patterns)


def validate(declared, given, ignored=()):
    """Typed hyperparameters with defaults filled in; ClientError on any violation.

    Aliases map to their hyperparameter; names in `ignored` and names starting with `_` (what the
    platform adds) are accepted and logged as ignored."""
    given = dict(given or {})
    aliases = {a: n for n, s in declared.items() for a in (s.get("aliases") or [])}
    for alias, canonical in aliases.items():
        if alias in given:
            if canonical in given:
                raise ClientError("hyperparameters %s and %s are the same (%s is an alias); give one"
                                  % (canonical, alias, alias))
            given[canonical] = given.pop(alias)
    skipped = sorted(k for k in given if k not in declared and (k.startswith("_") or k in ignored))
    unknown = sorted(k for k in given if k not in declared and k not in skipped)
    if unknown:
        raise ClientError("unknown hyperparameter%s %s; allowed: %s"
                          % ("s" if len(unknown) > 1 else "", ", ".join(unknown),
                             ", ".join(sorted(declared))))
    if skipped:
        log.info("ignoring hyperparameters %s", ", ".join("%s=%s" % (k, given[k]) for k in skipped))
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
    for name, spec in declared.items():
        for other, patterns in (spec.get("required_if") or {}).items():
            if out.get(name) is None and out.get(other) is not None and _matches(out[other], patterns):
                raise ClientError("missing hyperparameter: %s is required when %s is %s"
                                  % (name, other, out[other]))
    return out


def validate_channels(declared, inputdataconfig):
    """Unknown channels, missing required ones, wrong content types, modes or distributions: ClientError."""
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
            raise ClientError("channel %s: input mode %s is not supported; use %s"
                              % (name, mode, " or ".join(spec.get("modes", ["File", "Pipe"]))))
        dist = cfg.get("S3DistributionType", "FullyReplicated")
        if spec.get("distributions") and dist not in spec["distributions"]:
            raise ClientError("channel %s: S3DistributionType %s is not supported; use %s"
                              % (name, dist, " or ".join(spec["distributions"])))
