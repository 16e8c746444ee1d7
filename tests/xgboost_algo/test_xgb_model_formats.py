"""xgboost-model in every format the service's images wrote, served by the real `serve`.

Each format is built here the way its writer built it: pickles of a Booster as Python 2 (protocol 0 and 2,
copy_reg) and Python 3 (protocols 3 to 5) pickled Booster.__getstate__'s dict, with the model bytes that
version's __getstate__ kept under `handle` (legacy binary before 1.0, a CONFIG-offset snapshot in 1.0-1.3,
a JSON or UBJSON snapshot from 1.4); and the files save_model wrote (legacy binary, binf, JSON, UBJSON).
The legacy binary is today's save_raw("deprecated") output with the fields xgboost < 1.0 wrote
differently put back (no "binf" header, base_score as a margin, no version, no extra attributes).
"""
import contextlib
import copyreg
import io
import json
import math
import os
import pickle
import signal
import struct
import warnings

import numpy as np
import pytest
import requests
import xgboost as xgb

from helpers import first_ping, served
from xgb_data import csv_bytes

BASE_SCORE = 0.3      # not 0.5: a legacy file read with the wrong base_score convention predicts differently
ROUNDS, BEST = 6, 4   # a pickle with best_ntree_limit=BEST is served with its first BEST rounds, as the service did


def _booster():
    rng = np.random.RandomState(5)
    X = rng.rand(300, 6).astype(np.float32)
    y = ((X[:, 0] + 0.5 * X[:, 1] - 0.4 * X[:, 2] + 0.2 * rng.rand(300)) > 0.6).astype(np.float32)
    params = {"objective": "binary:logistic", "base_score": BASE_SCORE, "max_depth": 3, "eta": 0.5, "seed": 0}
    return xgb.train(params, xgb.DMatrix(X, label=y), ROUNDS), rng.rand(25, 6).astype(np.float32)


# ---- model bytes as each xgboost version wrote them ------------------------------------------------

def _deprecated(bst):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = bytes(bst.save_raw("deprecated"))
    assert raw[:4] == b"binf"
    return raw


def _legacy_binary(bst):
    """The binary model of xgboost < 1.0 (0.72, 0.90): what their save_raw returned and save_model wrote."""
    raw = _deprecated(bst)
    pos = 4 + 136
    names = []
    for _ in range(2):  # objective, booster: uint64 length + bytes
        (n,) = struct.unpack_from("<Q", raw, pos)
        names.append(raw[pos + 8:pos + 8 + n])
        pos += 8 + n
    gbm = bytearray(raw[pos:])
    (num_trees,) = struct.unpack_from("<i", gbm, 0)
    p = 160                                          # GBTreeModelParam
    for _ in range(num_trees):
        (nodes,) = struct.unpack_from("<i", gbm, p + 4)
        struct.pack_into("<i", gbm, p + 20, 0)       # size_leaf_vector: 0 before 2.0
        p += 148 + nodes * (20 + 16)                 # TreeParam, nodes, node stats
    p += 4 * num_trees                               # tree_info; the extra attributes (1.0+) are dropped
    num_feature, num_class = struct.unpack_from("<Ii", raw, 8)
    margin = math.log(BASE_SCORE / (1 - BASE_SCORE))  # saved after ProbToMargin before 1.0
    header = struct.pack("<fIiii", margin, num_feature, num_class, 0, 0) + bytes(136 - 20)
    return header + b"".join(struct.pack("<Q", len(n)) + n for n in names) + bytes(gbm[:p])


def _config_offset_snapshot(binary, bst):
    """xgboost 1.0-1.3 Booster.__getstate__: header, int64 offset, binary model, JSON config."""
    return b"CONFIG-offset:" + struct.pack("<q", len(binary)) + binary + bst.save_config().encode()


def _json_snapshot(bst):
    """xgboost 1.4-1.5 Booster.__getstate__: JSON {"Config": ..., "Model": ...}."""
    return json.dumps({"Config": json.loads(bst.save_config()),
                       "Model": json.loads(bytes(bst.save_raw("json")))}).encode()


# ---- pickles as each image wrote them ---------------------------------------------------------------

def _py2_protocol0(handle, attrs):
    """Python 2.7 pickle.dump(booster, f): protocol 0, copy_reg._reconstructor, bytearray(u'...', 'latin-1')."""
    memo = iter(range(1000))

    def put():
        return b"p%d\n" % next(memo)

    text = bytes(handle).replace(b"\\", b"\\u005c").replace(b"\n", b"\\u000a")  # raw-unicode-escape
    out = b"ccopy_reg\n_reconstructor\n" + put() + b"(cxgboost.core\nBooster\n" + put()
    out += b"c__builtin__\nobject\n" + put() + b"Nt" + put() + b"R" + put() + b"(d" + put()
    out += b"S'handle'\n" + put() + b"c__builtin__\nbytearray\n" + put() + b"(V" + text + b"\n" + put()
    out += b"S'latin-1'\n" + put() + b"t" + put() + b"R" + put() + b"s"
    for k, v in attrs.items():
        out += b"S'%s'\n" % k.encode() + put()
        if v is None:
            out += b"N"
        elif isinstance(v, list):   # feature names: a list of str
            out += b"(l" + put() + b"".join(b"S'%s'\n" % x.encode() + put() + b"a" for x in v)
        else:
            out += (b"I%d\n" % v) if isinstance(v, int) else (b"F%r\n" % v)
        out += b"s"
    return out + b"b."


def _py2_protocol2(handle, attrs):
    """Python 2.7 pickle.dump(booster, f, 2): NEWOBJ, bytearray(u'...', 'latin-1') as BINUNICODE."""
    def short(s):
        return b"U" + bytes([len(s)]) + s

    utf8 = bytes(handle).decode("latin-1").encode("utf-8")
    out = b"\x80\x02cxgboost.core\nBooster\nq\x00)\x81q\x01}q\x02(" + short(b"handle") + b"q\x03"
    out += b"c__builtin__\nbytearray\nq\x04X" + struct.pack("<I", len(utf8)) + utf8 + b"q\x05"
    out += short(b"latin-1") + b"q\x06\x86q\x07Rq\x08"
    memo = iter(range(9, 256))
    for k, v in attrs.items():
        out += short(k.encode()) + bytes([ord("q"), next(memo)])
        if v is None:
            out += b"N"
        elif isinstance(v, list):
            out += b"]" + bytes([ord("q"), next(memo)]) + b"("
            out += b"".join(short(x.encode()) + bytes([ord("q"), next(memo)]) for x in v) + b"e"
        else:
            out += (b"K" + bytes([v])) if isinstance(v, int) else (b"G" + struct.pack(">d", v))
    return out + b"ub."


def _py3(handle, attrs, protocol):
    """Python 3 pickle.dump(booster, f[, protocol]) of Booster.__getstate__()'s dict."""
    state = dict(attrs, handle=bytearray(handle))
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=protocol)
    p.dispatch_table = dict(copyreg.dispatch_table)
    p.dispatch_table[xgb.Booster] = lambda b: (copyreg.__newobj__, (xgb.Booster,), state)
    p.dump(xgb.Booster())
    return buf.getvalue()


def _formats():
    bst, X = _booster()
    full = bst.inplace_predict(X)
    early = bst[:BEST].inplace_predict(X)
    assert np.abs(full - early).max() > 1e-3
    legacy = _legacy_binary(bst)
    # what xgb.train left in Booster.__dict__ before 1.0: the cache DMatrix's feature names, the best round
    names = {"feature_names": ["f%d" % i for i in range(X.shape[1])], "feature_types": None}
    old_attrs = dict(names, best_iteration=ROUNDS - 1, best_ntree_limit=ROUNDS)
    stopped = dict(names, best_iteration=BEST - 1, best_ntree_limit=BEST, best_score=0.1875)
    binary_1_0 = _deprecated(bst)[4:]   # 1.0 wrote the binary model without the "binf" header
    return X, {
        "0.72 pickle, Python 2 protocol 0, early stopped": (_py2_protocol0(legacy, stopped), early),
        "0.72 pickle, Python 2 protocol 2": (_py2_protocol2(legacy, old_attrs), full),
        "0.90 pickle, Python 3 protocol 3, early stopped": (_py3(legacy, stopped, 3), early),
        "1.0 pickle, CONFIG-offset snapshot": (_py3(_config_offset_snapshot(binary_1_0, bst), old_attrs, 4), full),
        "1.2 pickle, CONFIG-offset snapshot with binf": (
            _py3(_config_offset_snapshot(_deprecated(bst), bst), stopped, 4), early),
        "1.5 pickle, JSON snapshot": (_py3(_json_snapshot(bst), old_attrs, 4), full),
        "1.7 pickle, UBJSON snapshot": (_py3(bst.__getstate__()["handle"], old_attrs, 4), full),
        "pickle of today's Booster, protocol 5": (pickle.dumps(bst, protocol=5), full),
        "legacy binary (save_model before 1.0)": (legacy, full),
        "binf binary (save_model 1.1-1.7)": (_deprecated(bst), full),
        "JSON": (bytes(bst.save_raw("json")), full),
        "UBJSON": (bytes(bst.save_raw("ubj")), full),
    }


class _Payload:
    """What a malicious pickle does: run a command when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch %s" % self.marker,))


X_TEST, FORMATS = _formats()
MARKER = "/tmp/xgb-format-test-pwned-%d" % os.getpid()
REFUSED = {  # name: (file, what the log and /ping say)
    "malicious pickle, protocol 0": (pickle.dumps(_Payload(MARKER), protocol=0), "refusing to unpickle posix.system"),
    "malicious pickle, protocol 4": (pickle.dumps(_Payload(MARKER), protocol=4), "refusing to unpickle posix.system"),
    "pickled Booster without a model": (_py3(b"not a model at all", {}, 4),
                                        "a pickled Booster whose model bytes xgboost cannot load"),
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """One `serve` per file, all started before any is waited for."""
    files = dict(FORMATS, **REFUSED)
    with contextlib.ExitStack() as stack:
        running = {}
        for i, (name, (raw, expect)) in enumerate(files.items()):
            base = tmp_path_factory.mktemp("xgb-format-%d" % i)
            os.makedirs(base / "model")
            (base / "model" / "xgboost-model").write_bytes(raw)
            running[name] = (stack.enter_context(served(base, "xgboost", wait_ready=False)), expect)
        yield running
        for srv, _ in running.values():  # stop them all at once; served() then waits for each
            with contextlib.suppress(ProcessLookupError):
                os.killpg(srv.proc.pid, signal.SIGTERM)


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_is_served_and_predicts_like_the_original(servers, name):
    srv, expect = servers[name]
    ping = first_ping(srv, timeout=120)
    assert ping.status_code == 200, (ping.text, srv.log()[-3000:])
    res = srv.post(csv_bytes(X_TEST), "text/csv", "application/json")
    assert res.status_code == 200, res.text
    got = np.array([p["score"] for p in res.json()["predictions"]])
    # the %.6g text round trip of the request moves a score by far less than this
    np.testing.assert_allclose(got, expect, atol=1e-4)


@pytest.mark.parametrize("name", list(REFUSED))
def test_anything_else_is_refused_with_the_reason_and_never_run(servers, name):
    srv, needle = servers[name]
    ping = first_ping(srv, timeout=120)
    assert ping.status_code != 200
    assert needle in ping.text and needle in srv.log(), (ping.text, srv.log()[-3000:])
    assert srv.post(csv_bytes(X_TEST[:2]), "text/csv").status_code >= 500
    assert requests.get(srv.url + "/ping", timeout=10).status_code != 200
    assert not os.path.exists(MARKER)


def test_the_legacy_binary_really_is_the_pre_1_0_layout():
    bst, X = _booster()
    legacy = _legacy_binary(bst)
    assert legacy[:4] != b"binf" and struct.unpack_from("<5I", legacy, 20) == (0, 0, 0, 0, 0)
    # the loader applies the pre-1.0 convention (base_score saved as a margin): with the probability
    # there instead the model predicts differently, so the served predictions above can tell
    wrong = bytearray(legacy)
    struct.pack_into("<f", wrong, 0, BASE_SCORE)
    b = xgb.Booster()
    b.load_model(wrong)
    assert np.abs(b.inplace_predict(X) - bst.inplace_predict(X)).max() > 1e-3
