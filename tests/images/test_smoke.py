"""Docker smoke tests: build every algorithm's CPU image, check what each one installs, then run it the
platform's way through `local-job --mode docker`: File training, hosting, batch transform, and, for the
algorithms whose smoke.yaml asks, Pipe training and two instances.

Each algorithm says how in tests/<package>/smoke.yaml (format: tests/images/README.md); an algorithm
folder without one fails test_smoke_configuration. Where no docker engine answers these tests are
SKIPPED and say so: they never count as passed.
"""
import glob
import importlib.util
import json
import os
import re
import subprocess
import tarfile
import tomllib

import numpy as np
import pytest
import requests
import yaml

import jobdata
from localjob import docker

if not docker.available():
    pytest.skip("docker engine unavailable: the docker smoke tests (image build, train/serve/transform in "
                "containers) did NOT run", allow_module_level=True)

REPO = jobdata.REPO
REC = "application/x-recordio-protobuf"
SMOKE_KEYS = {"description", "hyperparameters", "data", "tabular", "metric", "serve", "transform", "heavy",
              "two_instances_log"}
HEAVY = {"pipe", "two_instances"}
TABULAR_FORMATS = {"recordio": REC, "csv": "text/csv"}


def _version():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["version"]


class Algorithm:
    """One containers/<package>/algorithm.yaml and its tests/<package>/smoke.yaml."""

    def __init__(self, declaration_path):
        self.package = os.path.basename(os.path.dirname(declaration_path))
        with open(declaration_path) as f:
            self.declaration = yaml.safe_load(f)
        self.name = self.declaration["name"]
        self.smoke_path = os.path.join(REPO, "tests", self.package, "smoke.yaml")
        self.image = "%s:%s-cpu" % (self.name, _version())
        self.smoke, self.problem = None, None
        try:
            self.smoke = self._load_smoke()
        except (OSError, ValueError, yaml.YAMLError) as e:
            self.problem = str(e)

    def _load_smoke(self):
        rel = os.path.relpath(self.smoke_path, REPO)
        if not os.path.exists(self.smoke_path):
            raise ValueError("%s is missing: every algorithm folder needs one to be smoke-tested in its image "
                             "(format: tests/images/README.md)" % rel)
        with open(self.smoke_path) as f:
            smoke = yaml.safe_load(f)
        if not isinstance(smoke, dict):
            raise ValueError("%s: not a mapping" % rel)
        unknown = sorted(set(smoke) - SMOKE_KEYS)
        if unknown:
            raise ValueError("%s: unknown keys %s; allowed: %s" % (rel, unknown, sorted(SMOKE_KEYS)))
        for key in ("hyperparameters", "data"):
            if key not in smoke:
                raise ValueError("%s lacks %r" % (rel, key))
        if smoke["data"] == "tabular":
            tab = smoke.get("tabular") or {}
            unknown = sorted(set(tab) - {"labels", "channels", "distributions"})
            if unknown:
                raise ValueError("%s: unknown tabular keys %s; allowed: labels, channels, distributions"
                                 % (rel, unknown))
            if set(tab.get("distributions") or {}) - set(tab.get("channels") or {}):
                raise ValueError("%s: tabular.distributions names a channel tabular.channels lacks" % rel)
            if not tab.get("channels") or "train" not in tab["channels"]:
                raise ValueError("%s: tabular.channels must name the train channel's format" % rel)
            bad = {f for f in tab["channels"].values() if f not in TABULAR_FORMATS}
            if bad or tab.get("labels", "multiclass") not in ("multiclass", "binary", "none"):
                raise ValueError("%s: tabular channel formats are %s, labels multiclass|binary|none"
                                 % (rel, sorted(TABULAR_FORMATS)))
        elif not re.match(r"^\w+\.\w+$", str(smoke["data"])):
            raise ValueError("%s: data is `tabular` or `module.function` (a file tests/%s/module.py)"
                             % (rel, self.package))
        bad = set(smoke.get("heavy") or []) - HEAVY
        if bad:
            raise ValueError("%s: heavy cases are %s, not %s" % (rel, sorted(HEAVY), sorted(bad)))
        return smoke

    def heavy(self, case):
        return case in ((self.smoke or {}).get("heavy") or [])

    @property
    def json_root(self):
        serving = self.declaration.get("serving") or {}
        return serving["json_root"] if "json_root" in serving else "predictions"


ALGORITHMS = {a.name: a for a in (Algorithm(p) for p in
                                  sorted(glob.glob(os.path.join(REPO, "containers", "*", "algorithm.yaml"))))}


def pytest_generate_tests(metafunc):
    # every test over every algorithm, in one list, so that pytest groups each algorithm's tests and keeps
    # one trained model per algorithm (module scope); tests/images/conftest.py then deselects the heavy
    # cases an algorithm's smoke.yaml does not ask for
    if "algo_name" in metafunc.fixturenames:
        metafunc.parametrize("algo_name", list(ALGORITHMS), scope="module")


def heavy_case(case):
    def mark(fn):
        fn.heavy_case = case
        return fn
    return mark


def wanted(item):
    """False for a heavy case the algorithm's smoke.yaml does not ask for."""
    case = getattr(getattr(item, "function", None), "heavy_case", None)
    name = getattr(getattr(item, "callspec", None), "params", {}).get("algo_name")
    return case is None or name is None or ALGORITHMS[name].heavy(case)


# ---- building -----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def built(request):
    """One scripts/build call for the algorithms whose tests were selected (-k), all of them by default (the
    images share every layer but the last few, so after the first one each takes seconds); --keep-going, so
    one algorithm's broken build fails only its own tests."""
    selected = {item.callspec.params["algo_name"] for item in request.session.items
                if "algo_name" in getattr(getattr(item, "callspec", None), "params", {})}
    names = [n for n in ALGORITHMS if n in selected] or list(ALGORITHMS)
    p = subprocess.run([os.path.join(REPO, "scripts", "build"), "--cpu-only", "--keep-going"] + names,
                       cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
    output = p.stdout.decode("utf-8", "replace")
    failed = re.findall(r"^build FAILED: (.*)$", output, re.M)
    return {"rc": p.returncode, "output": output, "failed": failed[-1].split() if failed else [],
            "images": [ALGORITHMS[n].image for n in names]}


def _build_log(output, image):
    start = output.find("== %s " % image)
    if start < 0:
        return output[-6000:]
    end = output.find("\n== ", start + 1)
    return output[start:end if end > 0 else None][-8000:]


@pytest.fixture(scope="module")
def image(algo_name, built):
    """The algorithm, its image built; needs no smoke.yaml."""
    a = ALGORITHMS[algo_name]
    assert a.image not in built["failed"], "scripts/build failed for %s:\n%s" % (a.image, _build_log(built["output"], a.image))
    assert built["rc"] == 0 or built["failed"], "scripts/build failed:\n%s" % built["output"][-6000:]
    assert docker.image_exists(a.image), "scripts/build did not produce %s:\n%s" % (a.image, built["output"][-3000:])
    return a


@pytest.fixture(scope="module")
def algo(image):
    """The algorithm, its image built, its smoke.yaml read."""
    if image.problem:
        pytest.fail(image.problem)
    return image


def test_smoke_configuration(algo_name):
    a = ALGORITHMS[algo_name]
    assert a.problem is None, a.problem


_CONTENTS = r"""
import importlib.metadata as md, json, re
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
installed = {norm(d.metadata["Name"]): d.version for d in md.distributions()}
shared, todo = set(), ["sagemaker-algorithm-containers"]
while todo:  # what the project's own requirements pull in (requirements behind an extra marker excluded)
    name = todo.pop()
    for req in md.requires(name) or []:
        if "extra ==" in req:
            continue
        dep = norm(re.match(r"[A-Za-z0-9._-]+", req).group(0))
        if dep in installed and dep not in shared:
            shared.add(dep)
            todo.append(dep)
print(json.dumps({"installed": installed, "shared": sorted(shared)}))
"""


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pin(req):
    m = re.match(r"\s*([A-Za-z0-9._-]+)\s*==\s*([^\s;]+)", req)
    return _norm(m.group(1)), m.group(2)


def test_image_installs_what_its_declaration_requires(image):
    """The shared pins everywhere; each optional-dependency group exactly in the images of the algorithms that
    name it under `extras:` (the XGBoost image has xgboost-cpu, the K-Means image does not)."""
    out = docker.run(["run", "--rm", "--network", "none", "--entrypoint", "python3", image.image, "-c", _CONTENTS]).stdout
    got = json.loads(out.decode().strip().splitlines()[-1])
    installed, shared = got["installed"], set(got["shared"])
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    for req in project["dependencies"]:
        name, version = _pin(req)
        assert installed.get(name) == version, "%s: shared pin %s, image has %s" % (image.image, req, installed.get(name))
    extras = set(image.declaration.get("extras") or [])
    groups = {g: reqs for g, reqs in project["optional-dependencies"].items()
              if g not in ("test", "localjob") and not g.endswith("-gpu")}
    for group in sorted(extras):
        assert group in groups, "%s: extras names %s, which pyproject.toml lacks" % (image.name, group)
    for group, reqs in sorted(groups.items()):
        for req in reqs:
            name, version = _pin(req)
            if group in extras:
                assert installed.get(name) == version, "%s: extra %s needs %s, image has %s" % (
                    image.image, group, req, installed.get(name))
            elif name not in shared and not any(name in (_pin(r)[0] for r in groups[g]) for g in extras):
                assert name not in installed, "%s installs %s (group %s), which its algorithm.yaml does not name" % (
                    image.image, name, group)
    if image.name == "kmeans":  # the case the images were split for, as a user would check it
        p = docker.run(["run", "--rm", "--network", "none", "--entrypoint", "pip", image.image, "show", "xgboost-cpu"],
                       check=False)
        assert p.returncode != 0, p.stdout.decode()


def test_images_share_every_layer_but_the_algorithms_own(built):
    images = [i for i in built["images"] if i not in built["failed"] and docker.image_exists(i)]
    assert len(images) >= 2, built["output"][-3000:]
    layers = {i: json.loads(docker.run(["image", "inspect", "--format", "{{json .RootFS.Layers}}", i]).stdout)
              for i in images}
    common = os.path.commonprefix(list(layers.values()))
    own = {i: len(ls) - len(common) for i, ls in layers.items()}
    assert all(n <= 1 for n in own.values()), own
    # the shared part is the heavy part: base, runtimes, the venv with MXNet, the code
    assert len(common) >= 4, common


# ---- data ---------------------------------------------------------------------------------------------

def _payload(x, content_type):
    if content_type == "text/csv":
        return "\n".join(",".join("%g" % v for v in row) for row in x).encode() + b"\n"
    if content_type == REC:
        from formats import rioproto
        return rioproto.encode_dense(x)
    if content_type == "application/json":
        return json.dumps({"instances": [{"features": row.tolist()} for row in x]}).encode()
    if content_type == "application/jsonlines":
        return "".join(json.dumps({"features": row.tolist()}) + "\n" for row in x).encode()
    raise ValueError("tabular data has no %s form" % content_type)


def _tabular(smoke, root):
    tab = smoke["tabular"]
    x, y = jobdata.digits()
    labels = {"multiclass": y, "binary": (y > 4).astype(np.float32), "none": None}[tab.get("labels", "multiclass")]
    channels = {}
    for name, fmt in tab["channels"].items():
        rows = slice(0, 1500) if name == "train" else slice(1500, None)
        lab = None if labels is None else labels[rows]
        path = str(root / name / ("data.rec" if fmt == "recordio" else "data.csv"))
        if fmt == "recordio":
            jobdata.write_recordio(path, x[rows], lab)
        else:
            jobdata.write_csv(path, x[rows], lab)
        channels[name] = {"path": os.path.dirname(path), "content_type": TABULAR_FORMATS[fmt],
                          "distribution": (tab.get("distributions") or {}).get(name, "FullyReplicated")}
    serve = dict({"content_type": "text/csv", "accept": "application/json"}, **(smoke.get("serve") or {}))
    serve.update(body=_payload(x[:5], serve["content_type"]), records=5)
    transform = dict({"content_type": "text/csv", "accept": "application/jsonlines"}, **(smoke.get("transform") or {}))
    transform.setdefault("split", "RecordIO" if transform["content_type"] == REC else "Line")
    name = "batch.rec" if transform["content_type"] == REC else "batch.csv"
    transform.update(files={name: _payload(x[1500:], transform["content_type"])}, records={name: len(x) - 1500})
    return {"channels": channels, "serve": serve, "transform": transform}


def _generated(algo, root):
    module_name, function = algo.smoke["data"].split(".")
    path = os.path.join(REPO, "tests", algo.package, module_name + ".py")
    spec = importlib.util.spec_from_file_location("smoke_data_%s_%s" % (algo.package, module_name), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = getattr(module, function)(root)
    for name, ch in data["channels"].items():
        if "path" not in ch:
            ch["path"] = _write_files(root / "channels" / name, ch["files"])
    return data


def _write_files(directory, files):
    for rel, body in files.items():
        p = os.path.join(str(directory), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(body)
    return str(directory)


@pytest.fixture(scope="module")
def data(algo, tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke-%s" % algo.package)
    d = _tabular(algo.smoke, root) if algo.smoke["data"] == "tabular" else _generated(algo, root)
    tr = d.get("transform")
    if tr:
        tr["path"] = _write_files(root / "batch", tr["files"])
    return d


# ---- running ------------------------------------------------------------------------------------------

def _logs(result):
    d = result.describe or {}
    out = []
    for host, path in sorted(((d.get("LocalJob") or {}).get("Logs") or {}).items()):
        if os.path.exists(path):
            out.append("---- container log %s (%s)\n%s" % (host, path, open(path).read()[-5000:]))
    return "%r\n%s" % (result, "\n".join(out))


def _read(path):
    if path and os.path.exists(path):
        return "---- container log (%s)\n%s" % (path, open(path).read()[-5000:])
    return ""


def _train(algo, data, tmp_path, name, mode="File", instances=1):
    channels = {n: jobdata.channel(ch["path"], ch["content_type"],
                                   distribution=ch.get("distribution", "FullyReplicated"))
                for n, ch in data["channels"].items()}
    req = jobdata.training_request(name, tmp_path / "out", channels, algo.smoke["hyperparameters"], mode=mode,
                                   instances=instances, image=algo.image)
    r = jobdata.local_job("train", jobdata.save(tmp_path / ("%s.json" % name), req), "--mode", "docker",
                          timeout=600)
    assert r.describe is not None and r.describe["TrainingJobStatus"] == "Completed", _logs(r)
    with tarfile.open(r.describe["ModelArtifacts"]["S3ModelArtifacts"]) as tar:
        members = tar.getnames()
    assert members, _logs(r)
    if algo.smoke.get("metric"):
        names = [m["MetricName"] for m in r.describe["FinalMetricDataList"]]
        assert algo.smoke["metric"] in names, "%s not in %s\n%s" % (algo.smoke["metric"], names, _logs(r))
    return r, members


@pytest.fixture(scope="module")
def trained(algo, data, tmp_path_factory):
    r, members = _train(algo, data, tmp_path_factory.mktemp("model"), "smoke-%s-model" % algo.name)
    return r.describe["ModelArtifacts"]["S3ModelArtifacts"], members


def _answers(algo, body, accept):
    """How many records an answer holds: JSON by the algorithm's json_root, JSON Lines and CSV by lines."""
    mime = (accept or "").split(";")[0].strip()
    if mime == "application/json":
        doc = json.loads(body)
        return len(doc[algo.json_root] if algo.json_root else doc)
    if mime in ("application/jsonlines", "text/csv"):
        lines = body.decode().splitlines()
        if mime == "application/jsonlines":
            assert all(json.loads(line) is not None for line in lines), body[:500]
        return len(lines)
    return None


def test_train_file_mode(algo, trained):
    assert os.path.getsize(trained[0]) > 0  # the module's File-mode job, with its checks, made it


def test_serve_ping_and_invocations(algo, data, trained):
    serve = data["serve"]
    port = jobdata_free_port()
    proc = subprocess.Popen([jobdata.LOCAL_JOB, "serve", "--mode", "docker", "--model-data", trained[0],
                             "--image", algo.image, "--port", str(port), "--env", "SAGEMAKER_MODEL_SERVER_WORKERS=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    info = {}
    try:
        first = proc.stdout.readline().decode()
        info = json.loads(first) if first.strip() else {}
        assert info.get("Url"), "serve did not come up:\n%s" % proc.stderr.read().decode()[-6000:]
        assert requests.get(info["Url"] + "/ping", timeout=5).status_code == 200
        resp = requests.post(info["Url"] + "/invocations", data=serve["body"],
                             headers={"Content-Type": serve["content_type"], "Accept": serve["accept"]}, timeout=60)
        assert resp.status_code == 200, "%s %s\n%s" % (resp.status_code, resp.text[:2000], _read(info.get("Log")))
        n = _answers(algo, resp.content, serve["accept"])
        if serve.get("records") is not None and n is not None:
            assert n == serve["records"], (resp.text[:2000], _read(info.get("Log")))
        assert resp.content, _read(info.get("Log"))
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_batch_transform(algo, data, trained, tmp_path):
    tr = data["transform"]
    req = jobdata.transform_request("smoke-%s-transform" % algo.name, tr["path"], tmp_path / "out",
                                    content_type=tr["content_type"], accept=tr["accept"], split=tr["split"],
                                    concurrency=2, payload_mb=1)
    r = jobdata.local_job("transform", jobdata.save(tmp_path / "t.json", req), "--mode", "docker",
                          "--model-data", trained[0], "--image", algo.image, timeout=600)
    server_log = _read(((r.describe or {}).get("LocalJob") or {}).get("ServerLog"))
    assert r.describe is not None and r.describe["TransformJobStatus"] == "Completed", "%r\n%s" % (r, server_log)
    # the service writes <input>.out into S3OutputPath, and nothing else
    assert sorted(os.listdir(tmp_path / "out")) == sorted(f + ".out" for f in tr["files"]), server_log
    for name, want in (tr.get("records") or {}).items():
        with open(tmp_path / "out" / (name + ".out"), "rb") as f:
            body = f.read()
        n = _answers(algo, body, tr["accept"]) if tr["accept"] != "application/json" else len(body.splitlines())
        assert n == want, (name, n, want, body[:500], server_log)


@heavy_case("pipe")
def test_train_pipe_mode(algo, data, tmp_path):
    r, members = _train(algo, data, tmp_path, "smoke-%s-pipe" % algo.name, mode="Pipe")
    assert any(v >= 1 for v in r.describe["LocalJob"]["PipeEpochsFed"].values()), _logs(r)


@heavy_case("two_instances")
def test_two_instances(algo, data, trained, tmp_path):
    r, members = _train(algo, data, tmp_path, "smoke-%s-dist" % algo.name, instances=2)
    assert r.describe["LocalJob"]["ExitCodes"] == {"algo-1": 0, "algo-2": 0}, _logs(r)
    # the hosts found each other on the job's private network by name and trained as one job
    logs = {h: open(p).read() for h, p in r.describe["LocalJob"]["Logs"].items()}
    assert all("algo-1,algo-2" in log for log in logs.values()), _logs(r)
    if algo.smoke.get("two_instances_log"):
        assert all(algo.smoke["two_instances_log"] in log for log in logs.values()), _logs(r)
    # one model, as from one instance: the second host's work went into it, not beside it
    assert members == trained[1], _logs(r)


def jobdata_free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
