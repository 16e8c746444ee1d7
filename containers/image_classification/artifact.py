"""The service's artifact: image-classification-symbol.json, image-classification-00NN.params (NN the
saved epoch, 1-based as mx.callback.do_checkpoint numbers them) and model-shapes.json. Read by serving
and by incremental training (the `model` channel), so it imports only mxnet and contract."""
import json
import os
import re
import tarfile
import tempfile

from contract.errors import ClientError

PREFIX = "image-classification"
SYMBOL = PREFIX + "-symbol.json"
SHAPES = "model-shapes.json"
_PARAMS = re.compile(r"^%s-(\d{4,})\.params$" % re.escape(PREFIX))


def params_name(epoch):
    return "%s-%04d.params" % (PREFIX, epoch)


def epochs_saved(directory):
    """Epoch numbers of the params files in directory, ascending."""
    return sorted(int(m.group(1)) for m in (_PARAMS.match(n) for n in os.listdir(directory)) if m)


def shapes_json(batch, image_shape):
    return json.dumps([{"shape": [int(batch)] + [int(x) for x in image_shape], "name": "data"}])


def read_shapes(directory):
    """The data shape [batch, c, h, w] of model-shapes.json, or None when the file is absent."""
    path = os.path.join(directory, SHAPES)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for entry in json.load(f):
            if entry.get("name") == "data":
                return [int(x) for x in entry["shape"]]
    return None


def load(directory, epoch=None):
    """(symbol, arg_params, aux_params, epoch) of the newest (or given) saved epoch."""
    import mxnet as mx
    saved = epochs_saved(directory)
    if not saved or not os.path.exists(os.path.join(directory, SYMBOL)):
        raise FileNotFoundError("no %s and %s-NNNN.params in %s" % (SYMBOL, PREFIX, directory))
    epoch = saved[-1] if epoch is None else epoch
    sym, args, aux = mx.model.load_checkpoint(os.path.join(directory, PREFIX), epoch)
    return sym, args, aux, epoch


def unpack_channel(channel_dir, workdir):
    """The directory holding a previous model's files: the channel itself, or its model.tar.gz
    extracted (what the platform puts in a `model` channel)."""
    names = []
    for root, _, files in os.walk(channel_dir):
        names += [os.path.join(root, n) for n in files if not n.startswith(".")]
    for path in names:
        if os.path.basename(path) == SYMBOL:
            return os.path.dirname(path)
    archives = [p for p in names if p.endswith((".tar.gz", ".tgz", ".tar"))]
    if not archives:
        raise ClientError("channel model: neither %s nor a model.tar.gz holding it under %s" % (SYMBOL, channel_dir))
    dest = tempfile.mkdtemp(prefix="ic-model-", dir=workdir)
    try:
        with tarfile.open(archives[0], "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and not os.path.isabs(m.name)
                       and ".." not in m.name.split("/")]
            for m in members:
                m.name = os.path.basename(m.name)
            tar.extractall(dest, members=members)
    except (tarfile.TarError, OSError) as e:
        raise ClientError("channel model: cannot read %s: %s" % (os.path.basename(archives[0]), e)) from None
    if not os.path.exists(os.path.join(dest, SYMBOL)):
        raise ClientError("channel model: %s holds no %s (not an image-classification model)"
                          % (os.path.basename(archives[0]), SYMBOL))
    return dest


def describe(arg_params):
    """What the parameters say of the network: (num_layers or None, num_classes, stem kernel, channels)."""
    from containers.image_classification import resnet
    names = set(arg_params)
    units = {}
    for n in names:
        m = re.match(r"stage(\d+)_unit(\d+)_", n)
        if m:
            s, u = int(m.group(1)), int(m.group(2))
            units[s] = max(units.get(s, 0), u)
    stages = [units[s] for s in sorted(units)]
    bottleneck = any(n.endswith("_conv3_weight") for n in names)
    depth = None
    for d in list(resnet.CIFAR_DEPTHS) + sorted(resnet.IMAGENET_UNITS):
        u, _, b = resnet.layout(d)
        if u == stages and b == bottleneck:
            depth = d
            break
    fc = arg_params.get("fc1_weight")
    conv0 = arg_params.get("conv0_weight")
    return {"num_layers": depth,
            "num_classes": None if fc is None else int(fc.shape[0]),
            "stem_kernel": None if conv0 is None else int(conv0.shape[-1]),
            "channels": None if conv0 is None else int(conv0.shape[1])}
