"""Train K-Means on the digits data that ships with scikit-learn, serve it, and query it over HTTP,
exactly as the platform would run the image: /opt/ml laid out in a temporary directory."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
from sklearn.datasets import load_digits

from formats import rioproto

BIN = os.path.dirname(sys.executable)


def main():
    base = tempfile.mkdtemp(prefix="kmeans-demo-")
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    cfg = os.path.join(base, "input", "config")
    for d in (cfg, os.path.join(base, "input", "data", "train"), os.path.join(base, "input", "data", "test")):
        os.makedirs(d)
    with open(os.path.join(base, "input", "data", "train", "digits.rec"), "wb") as f:
        f.write(rioproto.encode_dense(X[:1500], y[:1500]))
    with open(os.path.join(base, "input", "data", "test", "digits.rec"), "wb") as f:
        f.write(rioproto.encode_dense(X[1500:], y[1500:]))
    json.dump({"k": "10", "feature_dim": "64", "mini_batch_size": "500", "epochs": "3",
               "eval_metrics": '["msd","ssd"]'}, open(os.path.join(cfg, "hyperparameters.json"), "w"))
    rec = {"ContentType": "application/x-recordio-protobuf", "TrainingInputMode": "File"}
    json.dump({"train": rec, "test": rec}, open(os.path.join(cfg, "inputdataconfig.json"), "w"))
    json.dump({"current_host": "algo-1", "hosts": ["algo-1"]}, open(os.path.join(cfg, "resourceconfig.json"), "w"))
    env = dict(os.environ, SAGEMAKER_BASE_DIR=base, ALGORITHM="kmeans", TRAINING_JOB_NAME="kmeans-demo")

    print("== train (SAGEMAKER_BASE_DIR=%s)" % base, flush=True)
    subprocess.run([os.path.join(BIN, "train")], env=env, check=True)

    port = "8085"
    print("== serve on port %s" % port, flush=True)
    server = subprocess.Popen([os.path.join(BIN, "serve")], env=dict(env, SAGEMAKER_BIND_TO_PORT=port,
                                                                     SAGEMAKER_MODEL_SERVER_WORKERS="1"))
    try:
        url = "http://127.0.0.1:%s" % port
        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/ping", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        body = "\n".join(",".join("%g" % v for v in row) for row in X[1500:1505]).encode()
        req = urllib.request.Request(url + "/invocations", data=body,
                                     headers={"Content-Type": "text/csv", "Accept": "application/json"})
        answer = json.loads(urllib.request.urlopen(req).read())
        print("== POST /invocations (5 test digits, text/csv):")
        for digit, p in zip(y[1500:1505], answer["predictions"]):
            print("   digit %d -> cluster %d at distance %.2f" % (digit, p["closest_cluster"], p["distance_to_cluster"]))
    finally:
        server.terminate()
        server.wait(30)
    print("== model artifact: %s/model/model_algo-1 (mx.nd.load reads it)" % base)


if __name__ == "__main__":
    main()
