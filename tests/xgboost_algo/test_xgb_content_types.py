"""Content types as the image takes them: the short names, Parquet (a directory of files, label first),
recordIO; its channel messages."""
import io
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_breast_cancer

from helpers import job_dir, run_train, served
from xgb_data import as_read, csv_bytes, declared_metrics, load_model, metric_values, recordio_bytes, reference


def _parquet(X, y):
    cols = {"label": y.astype(np.float64)}
    cols.update(("f%d" % j, X[:, j]) for j in range(X.shape[1]))
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    return buf.getvalue()


def test_parquet_directory_and_short_names(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = as_read(X)
    y = y.astype(np.float32)
    Xt, yt, Xv, yv = X[:400], y[:400], X[400:], y[400:]
    hp = {"num_round": 4, "objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 3}
    job_dir(tmp_path, hp, {
        "train": {"content_type": "parquet", "files": {"part-0.parquet": _parquet(Xt[:150], yt[:150]),
                                                        "more/part-1.parquet": _parquet(Xt[150:], yt[150:])}},
        "validation": {"content_type": "recordio-protobuf", "files": {"v.rec": recordio_bytes(Xv, yv)}}})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 0, r.log
    ref = reference({"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 3}, Xt, yt, 4)
    model = load_model(os.path.join(r.model_dir, "xgboost-model"))
    assert model.get_dump() == ref.get_dump()
    p = np.clip(ref.inplace_predict(Xv), 1e-7, 1 - 1e-7)
    logloss = -np.mean(yv * np.log(p) + (1 - yv) * np.log(1 - p))
    assert abs(metric_values(r.log, declared_metrics()["validation:logloss"])[-1] - logloss) < 1e-4
    expected = ref.inplace_predict(Xv[:6])
    with served(tmp_path, "xgboost") as s:
        for ctype, body in (("csv", csv_bytes(Xv[:6])), ("recordio-protobuf", recordio_bytes(Xv[:6], yv[:6]))):
            res = s.post(body, ctype, "application/json")
            assert res.status_code == 200, (ctype, res.text)
            np.testing.assert_allclose([q["score"] for q in res.json()["predictions"]], expected, atol=1e-6)
        assert s.post(b"\x00", "application/x-parquet").status_code == 415  # not a request type there either
        # another delimiter and empty fields (missing values), as the image's request parser reads them
        holes = Xv[:6].copy()
        holes[0, 3] = holes[2, 0] = np.nan
        body = csv_bytes(holes).replace(b"nan", b"").replace(b",", b";")
        res = s.post(body, "text/csv", "application/json")
        assert res.status_code == 200, res.text
        np.testing.assert_allclose([q["score"] for q in res.json()["predictions"]], ref.inplace_predict(holes),
                                   atol=1e-6)


@pytest.mark.parametrize("channel, needle", [
    ({"content_type": "text/csv; label_size=2", "files": {"t.csv": b"1,2,3\n"}},
     "text/csv; label_size=2 is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"),
    ({"content_type": "application/x-parquet", "files": {"good.parquet": _parquet(np.ones((3, 2)), np.ones(3)),
                                                         "bad.parquet": b"PAR1 not really"}},
     "file bad.parquet: not a Parquet file"),
    ({"content_type": "application/x-foo", "files": {"t": b"1,2\n"}}, "application/x-foo"),
], ids=["label_size", "bad-parquet", "unknown-type"])
def test_channel_errors_say_what_is_accepted(tmp_path, channel, needle):
    job_dir(tmp_path, {"num_round": 2}, {"train": channel})
    r = run_train(tmp_path, "xgboost")
    assert r.rc == 2 and r.failure.startswith("ClientError: ") and needle in r.failure, (r.failure, r.log[-2000:])
    if "foo" in needle:
        for accepted in ("parquet", "recordio-protobuf", "libsvm", "csv"):
            assert accepted in r.failure
