"""Lay out one host's /opt/ml as the platform does: config files, File-mode channel data, FIFOs dirs."""
import json
import os
import shutil

from localjob.uris import RequestError, list_objects

VALID_MODES = ("File", "Pipe")


def channel_specs(request):
    """Normalise InputDataConfig: one dict per channel with the fields the runner needs."""
    algo = request.get("AlgorithmSpecification") or {}
    default_mode = algo.get("TrainingInputMode") or "File"
    specs = []
    for ch in request.get("InputDataConfig") or []:
        name = ch.get("ChannelName")
        if not name:
            raise RequestError("InputDataConfig: a channel has no ChannelName")
        s3 = ((ch.get("DataSource") or {}).get("S3DataSource")) or {}
        if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise RequestError("channel %s: S3DataType %s is not supported locally (use S3Prefix)"
                               % (name, s3.get("S3DataType")))
        mode = ch.get("InputMode") or default_mode
        if mode not in VALID_MODES:
            raise RequestError("channel %s: InputMode %r is not one of %s" % (name, mode, VALID_MODES))
        specs.append({
            "name": name,
            "objects": list_objects(s3.get("S3Uri"), "channel %s S3Uri" % name),
            "mode": mode,
            "content_type": ch.get("ContentType"),
            "compression": ch.get("CompressionType") or "None",
            "wrapper": ch.get("RecordWrapperType") or "None",
            "distribution": s3.get("S3DataDistributionType") or "FullyReplicated",
        })
    return specs


def share(objects, distribution, rank, count):
    """ShardedByS3Key deals the objects out across instances; FullyReplicated gives each all of them."""
    if distribution == "ShardedByS3Key":
        return objects[rank::count]
    return objects


def _place(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)  # same filesystem: no copy; containers see a real file, unlike a symlink
    except OSError:
        shutil.copyfile(src, dst)


def write_host(base, request, specs, hosts, host):
    """Create base/{input/config,input/data,model,output} for one host; returns its channel shares."""
    rank = hosts.index(host)
    cfg = os.path.join(base, "input", "config")
    data = os.path.join(base, "input", "data")
    for d in (cfg, data, os.path.join(base, "model"), os.path.join(base, "output", "data")):
        os.makedirs(d, exist_ok=True)
    hp = {str(k): str(v) for k, v in (request.get("HyperParameters") or {}).items()}
    idc = {}
    shares = {}
    for spec in specs:
        entry = {"TrainingInputMode": spec["mode"], "S3DistributionType": spec["distribution"],
                 "RecordWrapperType": spec["wrapper"]}
        if spec["content_type"]:
            entry["ContentType"] = spec["content_type"]
        idc[spec["name"]] = entry
        mine = share(spec["objects"], spec["distribution"], rank, len(hosts))
        shares[spec["name"]] = mine
        if spec["mode"] == "File":
            chdir = os.path.join(data, spec["name"])
            os.makedirs(chdir, exist_ok=True)
            for src, key in mine:
                _place(src, os.path.join(chdir, key))
    _dump(os.path.join(cfg, "hyperparameters.json"), hp)
    _dump(os.path.join(cfg, "inputdataconfig.json"), idc)
    _dump(os.path.join(cfg, "resourceconfig.json"),
          {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"})
    return shares


def _dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
