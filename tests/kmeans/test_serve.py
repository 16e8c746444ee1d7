"""K-Means through the real `serve` program, over HTTP."""
import io
import json
import os
import shutil
import tarfile

import mxnet as mx
import numpy as np
import pytest
import requests
from sagemaker.amazon.common import read_records, write_numpy_to_dense_tensor

from helpers import first_ping, served

K, D = 4, 6
RNG = np.random.RandomState(7)
CENTROIDS = (RNG.rand(K, D) * 10).astype(np.float32)


def expected(X):
    d = ((X[:, None, :] - CENTROIDS[None]) ** 2).sum(-1)
    return d.argmin(1), np.sqrt(d.min(1))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    b = tmp_path_factory.mktemp("serve")
    os.makedirs(b / "model")
    mx.nd.save(str(b / "model" / "model_algo-1"), [mx.nd.array(CENTROIDS)])
    return b


@pytest.fixture(scope="module")
def server(base):
    with served(base, "kmeans") as s:
        yield s


def _csv(X):
    return ("\n".join(",".join("%.6g" % v for v in r) for r in X) + "\n").encode()


def test_ping_and_execution_parameters(server):
    assert requests.get(server.url + "/ping").status_code == 200
    assert requests.get(server.url + "/execution-parameters").json() == {
        "MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


def test_csv_in_every_accept(server):
    X = (RNG.rand(5, D) * 10).astype(np.float32)
    cl, dist = expected(X)
    r = server.post(_csv(X), "text/csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    preds = r.json()["predictions"]
    assert [p["closest_cluster"] for p in preds] == cl.tolist()
    np.testing.assert_allclose([p["distance_to_cluster"] for p in preds], dist, rtol=1e-4)

    r = server.post(_csv(X), "text/csv; charset=utf-8; label_size=0", accept="application/jsonlines")
    lines = [json.loads(l) for l in r.text.splitlines()]
    assert [l["closest_cluster"] for l in lines] == cl.tolist() and set(lines[0]) == {"closest_cluster", "distance_to_cluster"}

    r = server.post(_csv(X), "text/csv", accept="application/x-recordio-protobuf")
    recs = read_records(io.BytesIO(r.content))
    assert [rec.label["closest_cluster"].float32_tensor.values[0] for rec in recs] == cl.tolist()
    np.testing.assert_allclose([rec.label["distance_to_cluster"].float32_tensor.values[0] for rec in recs], dist, rtol=1e-4)

    r = server.post(_csv(X), "text/csv", accept="text/csv")
    rows = [list(map(float, l.split(","))) for l in r.text.splitlines()]
    assert [int(row[0]) for row in rows] == cl.tolist()


def test_json_jsonlines_and_recordio_requests(server):
    X = (RNG.rand(3, D) * 10).astype(np.float32)
    cl, _ = expected(X)
    body = {"instances": [{"features": X[0].tolist()}, {"data": {"features": {"values": X[1].tolist()}}},
                          {"data": {"features": {"keys": list(range(D)), "shape": [D], "values": X[2].tolist()}}}]}
    r = server.post(json.dumps(body), "application/json")
    assert [p["closest_cluster"] for p in r.json()["predictions"]] == cl.tolist()
    lines = "\n".join(json.dumps({"features": x.tolist()}) for x in X)
    r = server.post(lines, "application/jsonlines", accept="application/json")
    assert [p["closest_cluster"] for p in r.json()["predictions"]] == cl.tolist()
    f = io.BytesIO()
    write_numpy_to_dense_tensor(f, X)
    r = server.post(f.getvalue(), "application/x-recordio-protobuf", accept="application/jsonlines")
    assert [json.loads(l)["closest_cluster"] for l in r.text.splitlines()] == cl.tolist()


@pytest.mark.parametrize("body, ctype, accept, status, message", [
    (b"1,2,3\n", "text/csv", None, 400, "each record must have 6 features, got 3"),
    (b"1,2,3,4,5,x\n", "text/csv", None, 400, "line 1: field 6 ('x') is not a number"),
    (b"1,2,3,4,5,6\n1,2\n", "text/csv", None, 400, "line 2: has 2 fields, expected 6"),
    (b"{not json", "application/json", None, 400, "not valid JSON"),
    (b"\x00\x01garbage", "application/x-recordio-protobuf", None, 400, "bad RecordIO magic"),
    (b"", "text/csv", None, 400, "empty request body"),
    (b"1,2,3,4,5,6\n", "text/plain", None, 415, "unsupported Content-Type text/plain"),
    (b"1,2,3,4,5,6\n", None, None, 415, "missing Content-Type"),
    (b"1,2,3,4,5,6\n", "text/csv", "image/png", 406, "cannot produce image/png"),
])
def test_bad_input_gets_a_4xx_and_the_server_lives_on(server, body, ctype, accept, status, message):
    headers = {} if ctype is None else {"Content-Type": ctype}
    if accept:
        headers["Accept"] = accept
    r = requests.post(server.url + "/invocations", data=body, headers=headers)
    assert r.status_code == status, r.text
    assert message in r.text
    ok = server.post(b"1,2,3,4,5,6\n", "text/csv")
    assert ok.status_code == 200


def test_accept_negotiation(server):
    r = server.post(b"1,2,3,4,5,6\n", "text/csv", accept="text/html;q=0.9, application/jsonlines;q=0.5, */*;q=0.1")
    assert r.headers["Content-Type"].startswith("application/jsonlines")
    r = server.post(b"1,2,3,4,5,6\n", "text/csv", accept="*/*")
    assert r.headers["Content-Type"].startswith("application/json")


def test_over_the_payload_limit_is_413(base):
    with served(base, "kmeans", env={"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}) as s:
        r = s.post(b"1,2,3,4,5,6\n" * 100000, "text/csv")
        assert r.status_code == 413
        assert s.post(b"1,2,3,4,5,6\n", "text/csv").status_code == 200


def test_multi_record_batch_of_several_megabytes_in_order(base):
    X = (np.random.RandomState(1).rand(120000, D) * 10).astype(np.float32)
    body = _csv(X)
    assert len(body) > 5 * 1024 * 1024
    env = {"SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20", "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
           "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3"}
    with served(base, "kmeans", env=env) as s:
        assert requests.get(s.url + "/execution-parameters").json() == {
            "MaxConcurrentTransforms": 3, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 20}
        r = s.post(body, "text/csv", accept="application/jsonlines")
        assert r.status_code == 200
        got = np.array([json.loads(l)["closest_cluster"] for l in r.text.splitlines()])
        as_sent = np.array(body.replace(b"\n", b" ").replace(b",", b" ").split(), dtype=np.float64).astype(np.float32).reshape(-1, D)
        cl, _ = expected(as_sent)
        assert len(got) == len(X) and (got == cl).mean() > 0.9999  # every row, in order


def _raw_exchange(server, payload, responses):
    """Send raw bytes on one connection; read that many HTTP responses (status, body)."""
    import http.client
    import socket
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(payload)
        out = []
        for _ in range(responses):
            r = http.client.HTTPResponse(sock)
            r.begin()
            out.append((r.status, r.read()))
        return out


def _post(body, extra=b""):
    return (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nAccept: text/csv\r\n"
            + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def test_pipelined_requests_on_one_connection_each_get_their_own_body(server):
    X = (np.random.RandomState(5).rand(3000, D) * 10).astype(np.float32)
    a, b = _csv(X[:2000]), _csv(X[2000:])
    (s1, r1), (s2, r2) = _raw_exchange(server, _post(a) + _post(b), 2)
    assert s1 == 200 and s2 == 200
    assert len(r1.splitlines()) == 2000 and len(r2.splitlines()) == 1000
    cl, _ = expected(np.array(b.replace(b"\n", b" ").replace(b",", b" ").split(), dtype=np.float32).reshape(-1, D))
    assert [int(float(l.split(b",")[0])) for l in r2.splitlines()][:100] == cl[:100].tolist()


def test_chunked_request_body(server):
    body = _csv(CENTROIDS)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nAccept: text/csv\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    [(status, out)] = _raw_exchange(server, head + chunked, 1)
    assert status == 200 and [int(float(l.split(b",")[0])) for l in out.splitlines()] == list(range(K))


def test_client_that_stops_mid_body_does_not_hurt_the_server(server):
    import socket
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(_post(b"1,2,3,4,5,6\n" * 1000)[:-5000])
        sock.shutdown(socket.SHUT_WR)
        sock.recv(65536)  # whatever the server says, if anything
    assert server.post(_csv(CENTROIDS), "text/csv").status_code == 200


def _tar(path, entries):
    with tarfile.open(path, "w:gz") as t:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))


def test_model_tar_gz_is_extracted(tmp_path):
    buf = tmp_path / "m"
    mx.nd.save(str(buf), [mx.nd.array(CENTROIDS)])
    os.makedirs(tmp_path / "model")
    _tar(tmp_path / "model" / "model.tar.gz", [("model_algo-1", buf.read_bytes(), "file")])
    with served(tmp_path, "kmeans") as s:
        r = s.post(_csv(CENTROIDS[:1]), "text/csv")
        assert r.json()["predictions"][0]["closest_cluster"] == 0.0


@pytest.mark.parametrize("entries, reason", [
    ([("../evil", b"x", "file")], "outside the model directory"),
    ([("/abs/evil", b"x", "file")], "outside the model directory"),
    ([("link", "/etc/passwd", "sym")], "links outside the model directory"),
])
def test_unsafe_archives_are_refused(tmp_path, entries, reason):
    os.makedirs(tmp_path / "model")
    _tar(tmp_path / "model" / "model.tar.gz", entries)
    with served(tmp_path, "kmeans", wait_ready=False) as s:
        r = first_ping(s)
        assert r.status_code != 200
        assert reason in r.text and reason in s.log()
    assert not os.path.exists(tmp_path / "evil")


def test_unloadable_model_is_not_healthy(tmp_path):
    os.makedirs(tmp_path / "model")
    (tmp_path / "model" / "model_algo-1").write_bytes(b"not an mxnet file")
    with served(tmp_path, "kmeans", wait_ready=False) as s:
        r = first_ping(s)
        assert r.status_code == 503  # /ping and /invocations agree while the model cannot load
        assert "cannot load the model" in s.log()
        inv = s.post(b"1,2,3,4,5,6\n", "text/csv")
        assert inv.status_code == 503 and inv.text == r.text
