"""The runner's record splitting, payload packing, pipe wrapping, metric parsing and naming."""
import os
import threading

import numpy as np
import pytest

from formats import recordio
from localjob import pipes, records
from localjob.backends import algorithm_from_image
from localjob.metrics import MetricCollector, definitions
from localjob.uris import RequestError, list_objects, local_path


def test_recordio_split_keeps_multipart_records_whole():
    magic = recordio.MAGIC_BYTES
    payloads = [b"a" * 5, b"xxxx" + magic + b"yyyy" + magic + b"z", b"", b"q" * 4096]
    data = recordio.encode_all(payloads)
    recs = records.split_recordio(data)
    assert len(recs) == 4
    assert b"".join(recs) == data
    # each piece is exactly one record to formats.recordio
    assert [recordio.split(r)[0] for r in recs] == [[p] for p in payloads]
    with pytest.raises(RequestError):
        records.split_recordio(data[:-3])


def test_lines_and_payload_packing_never_split_records():
    data = b"".join(b"%d,%s\n" % (i, b"9" * (i % 13)) for i in range(500)) + b"last-without-newline"
    recs = records.split(data, "Line")
    assert len(recs) == 501 and b"".join(recs) == data
    packs = list(records.payloads(recs, "MULTI_RECORD", 200))
    assert all(sum(len(r) for r in p) <= 200 for p in packs)
    assert [r for p in packs for r in p] == recs
    assert len(packs) > 10
    assert len(list(records.payloads(recs, "SINGLE_RECORD", 200))) == 501
    assert len(list(records.payloads(recs, "MULTI_RECORD", 0))) == 1  # 0: no limit
    with pytest.raises(RequestError, match="record 1 is"):
        list(records.payloads([b"ab", b"x" * 300], "MULTI_RECORD", 200))
    assert records.split(b"whole object", "None") == [b"whole object"]


def test_pipe_recordio_wrapper_is_dmlc_framing(tmp_path):
    payload = b"\x01\x02\x03\x04" + recordio.MAGIC_BYTES + b"tail"
    assert recordio.split(pipes._recordio_wrap(payload))[0] == [payload]
    assert pipes._recordio_wrap(b"abc") == recordio.encode(b"abc")


def test_feeder_offers_epoch_after_epoch(tmp_path):
    src = tmp_path / "a.csv"
    src.write_bytes(b"1,2\n3,4\n")
    stop = threading.Event()
    f = pipes.ChannelFeeder(str(tmp_path), "train", [(str(src), "a.csv")], stop=stop)
    f.start()
    try:
        for epoch in range(3):
            path = tmp_path / ("train_%d" % epoch)
            for _ in range(200):
                if path.exists():
                    break
                threading.Event().wait(0.02)
            with open(path, "rb") as r:
                assert r.read() == b"1,2\n3,4\n"
    finally:
        stop.set()
        f.join(5)
    assert f.epochs_done >= 3 and f.error is None


def test_metrics_last_match_and_tab_as_011():
    defs = definitions({"metrics": [{"name": "test:msd", "regex": r"test msd <loss>=(\S+)"},
                                    {"name": "tabbed", "regex": r"value#011(\S+)"}]})
    c = MetricCollector(defs)
    assert c.feed("test msd <loss>=3.5", 1.0)
    assert not c.feed("nothing here", 2.0)
    c.feed("test msd <loss>=2.25", 3.0)
    c.feed("value\t7", 4.0)
    c.feed("test msd <loss>=nan", 5.0)
    out = {m["MetricName"]: (m["Value"], m["Timestamp"]) for m in c.final_metric_data_list(str)}
    assert out == {"test:msd": (2.25, "3.0"), "tabbed": (7.0, "4.0")}


def test_names_and_uris(tmp_path):
    assert algorithm_from_image("kmeans:0.1.0-cpu") == "kmeans"
    assert algorithm_from_image("123.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1") == "linear-learner"
    for rel in ("data/train-1.csv", "data/train-2.csv", "data/test.csv", "data/sub/train-x.csv"):
        os.makedirs(tmp_path / os.path.dirname(rel), exist_ok=True)
        (tmp_path / rel).write_text("1\n")
    assert [k for _, k in list_objects(str(tmp_path / "data" / "train"))] == ["train-1.csv", "train-2.csv"]
    assert len(list_objects("file://" + str(tmp_path / "data"))) == 4
    assert local_path("file://" + str(tmp_path)) == str(tmp_path)
    with pytest.raises(RequestError, match="not S3"):
        local_path("s3://bucket/key")
