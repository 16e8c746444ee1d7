"""Codecs against the official client's recordIO-protobuf writer and reader."""
import io
import os
import json

import numpy as np
import pytest
import scipy.sparse as sp
from sagemaker.amazon.common import (read_records, write_numpy_to_dense_tensor,
                                     write_spmatrix_to_sparse_tensor)

from formats import FormatError, codecs, csv, jsonfmt, recordio, rioproto
from formats.record_pb import Record


def _client_dense(X, y=None):
    f = io.BytesIO()
    write_numpy_to_dense_tensor(f, X, y)
    return f.getvalue()


@pytest.mark.parametrize("xdtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("ydtype", [None, np.float32, np.float64, np.int64])
def test_dense_from_official_writer(xdtype, ydtype):
    rng = np.random.RandomState(0)
    X = (rng.rand(300, 17) * 100).astype(xdtype)
    y = None if ydtype is None else rng.randint(0, 200, 300).astype(ydtype)
    b = rioproto.decode(_client_dense(X, y), feature_dim=17)
    assert b.features.dtype == np.float32
    np.testing.assert_allclose(b.features, X.astype(np.float32), rtol=1e-6)
    if y is None:
        assert b.labels is None
    else:
        np.testing.assert_array_equal(b.labels, y.astype(np.float32))


def test_sparse_from_official_writer():
    S = sp.random(200, 500, density=0.02, format="csr", dtype=np.float32, random_state=1)
    f = io.BytesIO()
    write_spmatrix_to_sparse_tensor(f, S, np.arange(200, dtype=np.float32))
    b = rioproto.decode(f.getvalue(), feature_dim=500)
    np.testing.assert_allclose(b.features.toarray(), S.toarray())
    np.testing.assert_array_equal(b.labels, np.arange(200))


def test_our_writer_read_by_official_reader():
    X = np.random.RandomState(2).rand(50, 9).astype(np.float32)
    y = np.arange(50, dtype=np.float32)
    recs = read_records(io.BytesIO(rioproto.encode_dense(X, y)))
    assert len(recs) == 50
    np.testing.assert_allclose(recs[7].features["values"].float32_tensor.values, X[7], rtol=1e-7)
    assert recs[7].label["values"].float32_tensor.values[0] == 7


def test_outputs_as_records_read_by_official_reader():
    out = {"closest_cluster": np.array([1, 2], np.float32), "distance_to_cluster": np.array([3.5, 5.0], np.float32)}
    recs = read_records(io.BytesIO(rioproto.encode_outputs(out, 2)))
    assert [r.label["closest_cluster"].float32_tensor.values[0] for r in recs] == [1.0, 2.0]
    assert [r.label["distance_to_cluster"].float32_tensor.values[0] for r in recs] == [3.5, 5.0]


def test_multipart_record_round_trip():
    # A payload holding the magic word at a 4-byte boundary is split into parts by the writer.
    payload = b"abcd" + recordio.MAGIC_BYTES + b"efgh" + recordio.MAGIC_BYTES + b"ij"
    framed = recordio.encode(payload)
    flags = []
    pos = 0
    while pos < len(framed):
        magic, lrec = np.frombuffer(framed[pos:pos + 8], "<u4")
        flags.append(int(lrec) >> 29)
        pos += 8 + (int(lrec) & ((1 << 29) - 1))
        pos += (-pos) % 4
    assert flags == [1, 2, 3]
    out, used = recordio.split(framed + recordio.encode(b"xyz"))
    assert out == [payload, b"xyz"]


def test_multipart_protobuf_record_decodes():
    # float32 value whose bits equal the magic word forces a multi-part record
    magic_float = np.frombuffer(recordio.MAGIC_BYTES, dtype="<f4")[0]
    X = np.array([[magic_float, 1.0, magic_float, 2.0]] * 3, dtype=np.float32)
    rec = Record()
    rec.features["values"].float32_tensor.values.extend(X[0].tolist())
    payload = rec.SerializeToString()
    data = recordio.encode_all([payload] * 3)
    b = rioproto.decode(data, feature_dim=4)
    np.testing.assert_array_equal(b.features.view("<u4"), X.view("<u4"))


def test_mixed_layouts_in_one_stream():
    a = _client_dense(np.ones((5, 3), np.float32), np.zeros(5, np.float32))
    b = _client_dense(np.full((4, 3), 2, np.float32))
    c = _client_dense(np.full((6, 3), 3, np.float32), np.full(6, 300, np.int64))  # 2-byte varints
    batch = rioproto.decode(a + b + c, feature_dim=3)
    assert batch.features.shape == (15, 3)
    assert batch.features[:, 0].tolist() == [1] * 5 + [2] * 4 + [3] * 6


def test_chunked_decoder_equals_whole():
    X = np.random.RandomState(3).rand(1000, 10).astype(np.float32)
    data = _client_dense(X, np.arange(1000, dtype=np.float32))
    dec = rioproto.Decoder(10)
    got, pending = [], b""
    for i in range(0, len(data), 777):
        buf = pending + data[i:i + 777]
        batch, used = dec.decode(buf, final=False)
        pending = buf[used:]
        if batch is not None:
            got.append(batch.features)
    assert not pending
    np.testing.assert_array_equal(np.vstack(got), X)


def test_broken_framing_names_the_record():
    data = _client_dense(np.ones((10, 3), np.float32))
    stride = len(data) // 10
    bad = data[:3 * stride] + b"\x00\x00\x00\x00" + data[3 * stride + 4:]
    with pytest.raises(FormatError, match="record 3"):
        rioproto.decode(bad, feature_dim=3)
    with pytest.raises(FormatError, match="truncated"):
        rioproto.decode(data[:-5], feature_dim=3)


def test_feature_dim_mismatch_names_the_record():
    data = _client_dense(np.ones((4, 3), np.float32)) + _client_dense(np.ones((1, 5), np.float32))
    with pytest.raises(FormatError, match="record 4: has 5 features, feature_dim is 3"):
        rioproto.decode(data, feature_dim=3)


def test_csv_parsing_and_errors():
    b = csv.parse(b"1,2,3\r\n4,5,6\n\n", label_size=1)
    assert b.labels.tolist() == [1, 4] and b.features.tolist() == [[2, 3], [5, 6]]
    with pytest.raises(FormatError, match=r"line 2: field 3 \('x'\) is not a number"):
        csv.parse(b"1,2,3\n4,5,x\n")
    with pytest.raises(FormatError, match="line 3: has 2 fields, expected 3"):
        csv.parse(b"1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(FormatError, match="line 12"):
        csv.parse(b"1,2\n4,a\n", first_line=11)
    # garbage after the very last number is not dropped quietly
    with pytest.raises(FormatError, match=r"line 2: field 3 \('6abc'\)"):
        csv.parse(b"1,2,3\n4,5,6abc\n")


def _big_csv(rows, cols, fmt, seed=0):
    x = np.random.default_rng(seed).normal(size=(rows, cols)) * 1000
    return "\n".join(",".join(fmt % v for v in row) for row in x).encode() + b"\n"


@pytest.mark.parametrize("fmt", ["%.6g", "%.17g", "%.3e"])
def test_csv_large_payload_path_matches_the_small_one_bit_for_bit(fmt):
    data = _big_csv(2000, 20, fmt)
    assert len(data) >= csv.ARROW_MIN_BYTES
    fast = csv.parse_matrix(data)
    assert csv._arrow_matrix(data) is not None  # the large path really ran
    exact = csv._numpy_matrix(data.rstrip(b"\n"), 1)
    assert fast.dtype == np.float32 and fast.shape == (2000, 20)
    assert np.array_equal(fast.view(np.uint32), exact.view(np.uint32))


def test_arrow_uses_every_cpu_even_with_omp_num_threads_1():
    import subprocess
    import sys
    code = ("import os; from formats import csv; pa, _ = csv._arrow_modules(); "
            "print(pa.cpu_count(), len(os.sched_getaffinity(0)))")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, OMP_NUM_THREADS="1"), cwd=root,
                         check=True, capture_output=True, text=True).stdout.split()
    assert out[0] == out[1], out


@pytest.mark.parametrize("bad, message", [
    (b"1,2,3,4,x," + b",".join([b"0"] * 15), r"line 1502: field 5 \('x'\) is not a number"),
    (b"1,2,3", "line 1502: has 3 fields, expected 20"),
    (b"1,2,3,1-2," + b",".join([b"0"] * 16), r"line 1502: field 4 \('1-2'\) is not a number"),
    (b"1,,3," + b",".join([b"0"] * 17), r"line 1502: field 2 \(''\) is not a number"),
    (b'"1",2,3,' + b",".join([b"0"] * 17), "line 1502: field 1"),
    (b"1_0,2,3," + b",".join([b"0"] * 17), "line 1502: field 1"),
])
def test_csv_large_payload_errors_name_the_line(bad, message):
    lines = _big_csv(3000, 20, "%.6g").split(b"\n")
    lines.insert(1500, b"")  # a blank line still counts as a line
    lines[1501] = bad
    with pytest.raises(FormatError, match=message):
        csv.parse_matrix(b"\n".join(lines))


def test_csv_large_payload_accepts_what_the_small_path_accepts():
    rows = [b" 1.5 , 2e3,-inf,nan"] * 5000 + [b"", b"1.,.5,+1,1E-3"]
    data = b"\r\n".join(rows) + b"\r\n"
    assert csv._arrow_matrix(data.replace(b"\r", b"")) is not None
    m = csv.parse_matrix(data)
    assert m.shape == (5001, 4) and m[0, :3].tolist() == [1.5, 2000.0, -np.inf] and np.isnan(m[0, 3])
    assert m[-1].tolist() == [1.0, 0.5, 1.0, np.float32(1e-3)]


def test_json_responses_are_what_json_dumps_writes():
    rng = np.random.default_rng(3)
    outputs = {"score": rng.normal(size=7).astype(np.float32), "label": np.arange(7, dtype=np.int64),
               "vec": rng.normal(size=(7, 3)), 'od"d%s': np.ones(7, np.float32)}
    rows = [{k: (v[i].tolist()) for k, v in outputs.items()} for i in range(7)]
    assert codecs.encode(outputs, 7, codecs.JSONLINES) == ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    assert codecs.encode(outputs, 7, codecs.JSON) == json.dumps({"predictions": rows}).encode()
    nan = {"score": np.array([1.0, np.nan], np.float32)}
    assert codecs.encode(nan, 2, codecs.JSONLINES) == b'{"score": 1.0}\n{"score": NaN}\n'
    assert codecs.encode({"score": np.zeros(0)}, 0, codecs.JSON) == b'{"predictions": []}'


def test_concat_keeps_weights_and_qids_that_only_some_batches_carry():
    from formats import libsvm
    from formats.batch import concat
    a = libsvm.parse(b"1 qid:1 0:1\n0 qid:1 1:2\n", has_label=True)
    b = libsvm.parse(b"1:2.5 qid:2 0:3\n", has_label=True)
    assert a.weights is None and b.weights.tolist() == [2.5]
    both = concat([a, b])
    assert both.weights.tolist() == [1, 1, 2.5] and both.qids.tolist() == [1, 1, 2]
    assert both.slice(1, 3).qids.tolist() == [1, 2]
    with pytest.raises(FormatError, match="1 of 2 lines have a qid"):
        libsvm.parse(b"1 qid:1 0:1\n0 1:2\n", has_label=True)


def test_json_and_jsonlines_requests():
    dense = {"instances": [{"features": [1, 2, 3]}, {"data": {"features": {"values": [4, 5, 6]}}}]}
    assert codecs.decode(json.dumps(dense).encode(), codecs.JSON).features.tolist() == [[1, 2, 3], [4, 5, 6]]
    sparse = {"instances": [{"data": {"features": {"keys": [0, 3], "shape": [5], "values": [1, 4]}}}]}
    assert codecs.decode(json.dumps(sparse).encode(), codecs.JSON).features.toarray().tolist() == [[1, 0, 0, 4, 0]]
    lines = b'{"features": [1, 2]}\n{"data": {"features": {"values": [3, 4]}}}\n'
    assert codecs.decode(lines, codecs.JSONLINES).features.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(FormatError, match="line 2"):
        jsonfmt.parse_jsonlines(b'{"features": [1]}\n{oops\n')
    with pytest.raises(FormatError, match="not valid JSON"):
        jsonfmt.parse_json(b"{")


def test_media_type_parameters_are_parsed():
    assert codecs.parse_media_type("text/csv; label_size=0; charset=utf-8") == \
        ("text/csv", {"label_size": "0", "charset": "utf-8"})
    assert codecs.parse_media_type("application/x-recordio-protobuf;verbose=true")[0] == codecs.RECORDIO


def test_response_encoders():
    out = {"closest_cluster": np.array([1, 2], np.float32), "distance_to_cluster": np.array([3.0, 5.5], np.float32)}
    assert json.loads(codecs.encode(out, 2, codecs.JSON)) == {"predictions": [
        {"closest_cluster": 1.0, "distance_to_cluster": 3.0}, {"closest_cluster": 2.0, "distance_to_cluster": 5.5}]}
    lines = codecs.encode(out, 2, codecs.JSONLINES).decode().splitlines()
    assert [json.loads(l) for l in lines] == [{"closest_cluster": 1.0, "distance_to_cluster": 3.0},
                                             {"closest_cluster": 2.0, "distance_to_cluster": 5.5}]
    assert codecs.encode(out, 2, codecs.CSV) == b"1,3\n2,5.5\n"


def _decode_both(data, feature_dim=None, final=True):
    """(compiled path's Batch, numpy path's Batch) of the same bytes."""
    from formats import sparse_compiled
    assert rioproto.sparse_compiled is sparse_compiled  # the test stack carries numba
    sparse_compiled.warm()
    fast = rioproto.Decoder(feature_dim).decode(data, final=final)
    try:
        rioproto.sparse_compiled = None
        slow = rioproto.Decoder(feature_dim).decode(data, final=final)
    finally:
        rioproto.sparse_compiled = sparse_compiled
    return fast, slow


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("labels", [None, np.float32, np.float64, np.int64])  # int64: the Int32 tensor
def test_sparse_compiled_path_equals_numpy_path_and_official_reader(dtype, labels):
    """Wide keys (multi-byte varints), empty records, every label type the client writes."""
    rng = np.random.default_rng(3)
    rows = [np.unique(rng.integers(0, 300000, rng.integers(1, 60))) for _ in range(3000)]
    rows[5] = rows[5][:0]  # a record with no non-zeros
    S = sp.csr_matrix((rng.normal(size=sum(map(len, rows))).astype(dtype), np.concatenate(rows),
                       np.cumsum([0] + [len(r) for r in rows])), shape=(3000, 300000))
    y = None if labels is None else (np.arange(3000) - 1500).astype(labels)
    f = io.BytesIO()
    write_spmatrix_to_sparse_tensor(f, S, y)
    data = f.getvalue()
    (fast, used_fast), (slow, used_slow) = _decode_both(data, 300000)
    assert used_fast == used_slow == len(data)
    for name in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(fast.features, name), getattr(slow.features, name))
    assert fast.features.shape == slow.features.shape == (3000, 300000)
    if labels is None:
        assert fast.labels is None and slow.labels is None
    else:
        np.testing.assert_array_equal(fast.labels, slow.labels)
        np.testing.assert_array_equal(fast.labels, y.astype(np.float32))
    recs = read_records(io.BytesIO(data))
    want = recs[17].features["values"].float32_tensor if dtype == np.float32 else \
        recs[17].features["values"].float64_tensor
    row = fast.features.row_slice(17, 18)
    np.testing.assert_array_equal(row.indices, list(want.keys))
    np.testing.assert_array_equal(row.data, np.float32(list(want.values)))


def test_sparse_compiled_path_hands_odd_and_bad_records_on():
    """A dense record, a multi-part one and a truncated tail mid-stream: same batch and the same error."""
    S = sp.random(50, 1000, density=0.01, format="csr", dtype=np.float32, random_state=4)
    f = io.BytesIO()
    write_spmatrix_to_sparse_tensor(f, S, np.ones(50, np.float32))
    dense = _client_dense(np.ones((1, 1000), np.float32), np.ones(1, np.float32))
    data = f.getvalue() + dense + f.getvalue()
    (fast, _), (slow, _) = _decode_both(data, 1000)
    np.testing.assert_array_equal(fast.dense(), slow.dense())
    assert len(fast) == 101
    with pytest.raises(FormatError) as a:
        _decode_both(data + data[:30], 1000)
    from formats import sparse_compiled
    try:
        rioproto.sparse_compiled = None
        with pytest.raises(FormatError) as b:
            rioproto.Decoder(1000).decode(data + data[:30], final=True)
    finally:
        rioproto.sparse_compiled = sparse_compiled
    assert str(a.value) == str(b.value) and "record 101" in str(a.value)
    with pytest.raises(FormatError, match="feature_dim is 999"):
        rioproto.Decoder(999).decode(f.getvalue(), final=True)


def test_sparse_compiled_path_survives_corrupt_bytes():
    """Random byte flips in sparse records: the compiled walk stops where a record stops making sense,
    never reads past it, and what it does decode is what the numpy path decodes."""
    from formats import sparse_compiled
    S = sp.random(40, 5000, density=0.01, format="csr", dtype=np.float32, random_state=5)
    f = io.BytesIO()
    write_spmatrix_to_sparse_tensor(f, S, np.arange(40, dtype=np.float32))
    good = f.getvalue()
    rng = np.random.default_rng(6)
    for trial in range(300):
        data = bytearray(good)
        for at in rng.integers(8, len(data), 3):
            data[at] = rng.integers(0, 256)
        got = sparse_compiled.decode_window(bytes(data), 0, len(data), 5000)  # compiled on first call
        if got is None:
            continue
        batch, used = got
        assert 0 < used <= len(data)
        try:
            ref = sparse_records_decode_prefix(bytes(data), used, 5000)
        except FormatError:
            continue
        if ref is not None:
            np.testing.assert_array_equal(batch.features.indices, ref.features.indices)


def sparse_records_decode_prefix(data, used, feature_dim):
    from formats import sparse_records
    starts, lengths, _ = recordio.spans(memoryview(data)[:used])
    return sparse_records.decode(memoryview(data)[:used], starts, lengths, feature_dim)
