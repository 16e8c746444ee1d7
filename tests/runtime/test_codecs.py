"""Codecs against the official client's recordIO-protobuf writer and reader."""
import io
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
