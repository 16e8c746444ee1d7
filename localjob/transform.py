"""A CreateTransformJob request, run locally against the model server the platform would start."""
import concurrent.futures
import gzip
import json
import os
import tempfile
import time
import urllib.error
import urllib.request

from localjob import clock, records
from localjob.progress import TransferMeter, human_bytes, human_seconds
from localjob.uris import RequestError, list_objects, local_path

# What the platform uses when neither the request nor /execution-parameters says (the guide's table).
DEFAULTS = {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
INVOCATION_TIMEOUT = 600
MB = 1024 * 1024


class InvocationError(RuntimeError):
    pass


def model_source(request, model_request=None, model_data=None, image=None):
    """(image, model artifact path, model Environment): CreateModel has no local store, so the model comes
    from --model-data / --image, a CreateModel request (--model), or a PrimaryContainer in the request."""
    containers = [c for c in (request.get("PrimaryContainer"), (model_request or {}).get("PrimaryContainer"),
                              ((model_request or {}).get("Containers") or [None])[0]) if c]
    pc = containers[0] if containers else {}
    if model_request and request.get("ModelName") and model_request.get("ModelName") not in (None, request["ModelName"]):
        raise RequestError("the CreateModel request is for ModelName %s, the transform job asks for %s"
                           % (model_request.get("ModelName"), request["ModelName"]))
    data = model_data or pc.get("ModelDataUrl")
    if not data:
        raise RequestError("no model artifact: pass --model-data model.tar.gz, --model create-model.json, "
                           "or put PrimaryContainer.ModelDataUrl in the request")
    path = local_path(data, "ModelDataUrl")
    if not os.path.exists(path):
        raise RequestError("ModelDataUrl %s: no such file" % data)
    return image or pc.get("Image"), path, {str(k): str(v) for k, v in (pc.get("Environment") or {}).items()}


def _get_json(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            if r.status == 200:
                return json.loads(r.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        pass
    return None


def invoke(url, body, content_type, accept, retries=3, timeout=INVOCATION_TIMEOUT):
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if accept:
        headers["Accept"] = accept
    for attempt in range(retries + 1):
        req = urllib.request.Request(url + "/invocations", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace").strip()
            if e.code >= 500 and attempt < retries:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise InvocationError("/invocations answered %d: %s" % (e.code, detail[:500]))
        except (urllib.error.URLError, OSError) as e:
            if attempt < retries:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise InvocationError("/invocations failed: %s" % e)


class TransformRun:
    def __init__(self, request, backend, model_data, model_env, terminal, log_dir=None):
        self.request = request
        self.backend = backend
        self.model_data = model_data
        self.model_env = model_env
        self.t = terminal
        self.created = time.time()
        self.name = request.get("TransformJobName") or "transform-%s" % clock.job_suffix(self.created)
        ti = request.get("TransformInput") or {}
        s3 = (ti.get("DataSource") or {}).get("S3DataSource") or {}
        if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise RequestError("TransformInput S3DataType %s is not supported locally (use S3Prefix)"
                               % s3.get("S3DataType"))
        self.inputs = list_objects(s3.get("S3Uri"), "TransformInput S3Uri")
        self.content_type = ti.get("ContentType")
        self.compression = ti.get("CompressionType") or "None"
        self.split_type = ti.get("SplitType") or "None"
        to = request.get("TransformOutput") or {}
        self.out_dir = local_path(to.get("S3OutputPath"), "TransformOutput.S3OutputPath")
        self.accept = to.get("Accept")
        self.assemble = to.get("AssembleWith") or "None"
        # never in S3OutputPath: the service writes only <input>.out there, and a reader of it sees that
        self.log_dir = log_dir
        self.log_path = None
        dp = request.get("DataProcessing") or {}
        if any(dp.get(k) not in (None, "$", "None") for k in ("InputFilter", "OutputFilter", "JoinSource")):
            raise RequestError("DataProcessing (InputFilter/OutputFilter/JoinSource) is not supported locally")
        mcc = request.get("ModelClientConfig") or {}
        self.invocation_timeout = int(mcc.get("InvocationsTimeoutInSeconds") or INVOCATION_TIMEOUT)
        self.retries = int(mcc.get("InvocationsMaxRetries", 3))

    def _environment(self):
        env = dict(self.model_env)
        env.update({str(k): str(v) for k, v in (self.request.get("Environment") or {}).items()})
        env["SAGEMAKER_BATCH"] = "true"
        # the guide: these come from the request, and are not passed when the user did not set them
        for key, var in (("MaxPayloadInMB", "SAGEMAKER_MAX_PAYLOAD_IN_MB"), ("BatchStrategy", "SAGEMAKER_BATCH_STRATEGY"),
                         ("MaxConcurrentTransforms", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS")):
            if self.request.get(key) is not None:
                env[var] = str(self.request[key])
        return env

    def _read(self, path):
        opener = gzip.open if self.compression == "Gzip" else open
        with opener(path, "rb") as f:
            return f.read()

    def run(self):
        os.makedirs(self.out_dir, exist_ok=True)
        if self.log_dir:
            os.makedirs(self.log_dir, exist_ok=True)
            log_dir = self.log_dir
        else:
            log_dir = tempfile.mkdtemp(prefix="local-job-%s-" % self.name[:40])
        self.log_path = os.path.join(log_dir, "%s.serve.log" % self.name)
        self.t.line("transform job %s: %d input object(s), %s mode, image %s"
                    % (self.name, len(self.inputs), self.backend.mode, self.backend.image or self.backend.algorithm))
        server = self.backend.start_server(self.model_data, self._environment(), log_path=self.log_path)
        status, failure, stats = "Completed", None, {}
        self.start = time.time()
        try:
            server.wait_healthy()
            container = _get_json(server.url + "/execution-parameters") or {}
            params = {k: self.request.get(k) if self.request.get(k) is not None
                      else container.get(k, DEFAULTS[k]) for k in DEFAULTS}
            self.params = params
            stats = self._transform(server.url, params)
        except (RequestError, InvocationError, RuntimeError) as e:
            # bad input or a refused request is the user's; a server that never came up is the algorithm's
            user_side = isinstance(e, (RequestError, InvocationError))
            status, failure = "Failed", "%s: %s" % ("ClientError" if user_side else "AlgorithmError", e)
            self.t.line("transform failed: %s" % e)
            tail = server.log()[-3000:]
            if tail:
                self.t.line("---- model server log (last lines) ----\n" + tail.rstrip())
        except KeyboardInterrupt:
            # StopTransformJob: what was written stays, the job is Stopped
            status = "Stopped"
            self.t.line("interrupted: stopping the transform job")
        finally:
            self.end = time.time()
            server.stop()
        return self._describe(status, failure, stats, getattr(self, "params", {}))

    def _transform(self, url, params):
        max_bytes = int(params["MaxPayloadInMB"]) * MB
        strategy = params["BatchStrategy"]
        work = []  # (output index, payload records)
        outputs = []
        total_records = total_bytes = 0
        for path, key in self.inputs:
            recs = records.split(self._read(path), self.split_type, key)
            total_records += len(recs)
            total_bytes += sum(len(r) for r in recs)
            outputs.append(os.path.join(self.out_dir, key + ".out"))
            for p in records.payloads(recs, strategy, max_bytes, key):
                work.append((len(outputs) - 1, p))
        meter = TransferMeter(self.t, total_records, total_bytes)

        def send(item):
            _, recs = item
            return invoke(url, b"".join(recs), self.content_type, self.accept, self.retries,
                          self.invocation_timeout)

        files = {}
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(params["MaxConcurrentTransforms"]))) as pool:
                # map() hands results back in submission order, so outputs keep the input order
                for (index, recs), body in zip(work, pool.map(send, work)):
                    if index not in files:
                        os.makedirs(os.path.dirname(outputs[index]), exist_ok=True)
                        files[index] = open(outputs[index] + ".partial", "wb")
                    if self.assemble == "Line" and body and not body.endswith(b"\n"):
                        body += b"\n"
                    files[index].write(body)
                    meter.add(len(recs), sum(len(r) for r in recs))
        finally:
            for f in files.values():
                f.close()
        for index, out in enumerate(outputs):
            if index in files:
                os.replace(out + ".partial", out)
            else:
                open(out, "wb").close()  # an empty input object still gets its .out
        self.t.end_status(meter.text())
        return {"Records": total_records, "Bytes": total_bytes, "Payloads": len(work), "Outputs": outputs}

    def _describe(self, status, failure, stats, params):
        d = {"TransformJobName": self.name,
             "TransformJobArn": "arn:aws:sagemaker:local:000000000000:transform-job/%s" % self.name.lower(),
             "TransformJobStatus": status}
        if failure:
            d["FailureReason"] = failure[:1024]
        for key in ("ModelName", "TransformInput", "TransformOutput", "TransformResources", "Environment",
                    "DataProcessing", "ModelClientConfig"):
            if key in self.request:
                d[key] = self.request[key]
        d.update({k: params[k] for k in params})
        d.update({"CreationTime": clock.iso(self.created), "TransformStartTime": clock.iso(self.start),
                  "TransformEndTime": clock.iso(self.end),
                  "LocalJob": dict(stats, Mode=self.backend.mode, ServerLog=self.log_path)})
        rows = [("job", self.name), ("status", status), ("mode", self.backend.mode),
                ("time", human_seconds(self.end - self.start))]
        if failure:
            rows.append(("failure", failure.splitlines()[0][:200]))
        if stats:
            rows += [("records", str(stats["Records"])), ("bytes", human_bytes(stats["Bytes"])),
                     ("payloads", "%d (%s, MaxPayloadInMB=%s, MaxConcurrentTransforms=%s)"
                      % (stats["Payloads"], params["BatchStrategy"], params["MaxPayloadInMB"],
                         params["MaxConcurrentTransforms"])),
                     ("output", self.out_dir)]
        rows.append(("server log", self.log_path))
        self.t.summary("Transform job summary", rows)
        return d
