"""Image Classification serving: one encoded image per request -> class probabilities.

Endpoint (application/json): a bare JSON list [p0, p1, ...], what the service's notebooks read with
json.loads(body). Batch transform, or Accept application/jsonlines: {"prediction": [p0, p1, ...]}.
"""
import json

import numpy as np

from contract.errors import ClientError
from containers.image_classification import artifact
from formats import images


class Classifier:
    def __init__(self, model_dir):
        import mxnet as mx
        self.mx = mx
        sym, arg, aux, self.epoch = artifact.load(model_dir)
        shapes = artifact.read_shapes(model_dir)
        if shapes is None:
            # no model-shapes.json: the input size the first layers were built for is not recorded;
            # the service's default is 224
            shapes = [1, int(arg["conv0_weight"].shape[1]), 224, 224]
        self.shape = tuple(shapes[1:])
        missing = [n for n in sym.list_arguments() if n not in arg and n != "data" and not n.endswith("_label")]
        if missing:
            raise ValueError("%s lacks parameters %s" % (artifact.params_name(self.epoch), ", ".join(missing[:5])))
        ctx = mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()
        self.mod = mx.mod.Module(sym, context=ctx, label_names=None)
        self.mod.bind(for_training=False, data_shapes=[("data", (1,) + self.shape)])
        # the output layer's label is an argument of the graph but no parameter
        self.mod.set_params(arg, aux, allow_missing=True, allow_extra=True)

    def decode(self, body, request):
        if images.sniff(body) not in (images.JPEG, images.PNG, images.BMP):
            raise ClientError("the request body (%s, %d bytes) is not a JPEG or PNG image"
                              % (request.content_type.mime, len(body)))
        return bytes(body)

    def predict(self, body):
        mx = self.mx
        c, h, w = self.shape
        try:
            img = mx.image.imdecode(body, flag=1 if c == 3 else 0)
        except mx.base.MXNetError as e:
            raise ClientError("the request body is not a decodable image: %s" % str(e).splitlines()[0]) from None
        ih, iw = img.shape[:2]
        # cover the network's input, keep the aspect, take the centre (what validation sees un-resized)
        scale = max(h / ih, w / iw)
        if (ih, iw) != (h, w):
            img = mx.image.imresize(img, max(w, int(round(iw * scale))), max(h, int(round(ih * scale))))
            img, _ = mx.image.center_crop(img, (w, h))
        x = img.astype("float32").transpose((2, 0, 1)).expand_dims(0)
        self.mod.forward(mx.io.DataBatch([x]), is_train=False)
        return self.mod.get_outputs()[0].asnumpy()[0]

    def encode(self, probs, request):
        values = [float(p) for p in np.asarray(probs, dtype=np.float64)]
        if request.accept.mime == "application/jsonlines":
            return (json.dumps({"prediction": values}) + "\n").encode()
        if request.batch:
            return json.dumps({"prediction": values}).encode()
        return json.dumps(values).encode()


def load(model_dir):
    return Classifier(model_dir)
