"""The ResNet family as MXNet's symbolic example builds it (example/image-classification/symbols/
resnet.py: pre-activation units, `stageS_unitU_*`, `bn_data`, `conv0`, `fc1`, `softmax`), so the
checkpoint names are the ones the service's artifacts carry.

Depth picks the family (the guide lists 20/32/44/56/110 for small images and 18..200 for large
ones); the stem follows the image height as in the example (3x3 for <= 32 pixels, else 7x7 + pool).
"""
import mxnet as mx
import numpy as np

IMAGENET_UNITS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
                  152: [3, 8, 36, 3], 200: [3, 24, 36, 3]}
CIFAR_DEPTHS = (20, 32, 44, 56, 110)
BN_EPS, BN_MOM = 2e-5, 0.9


def layout(num_layers):
    """(units per stage, filters [stem, stage1..], bottleneck) for a depth the guide allows."""
    if num_layers in CIFAR_DEPTHS:
        return [(num_layers - 2) // 6] * 3, [16, 16, 32, 64], False
    if num_layers in IMAGENET_UNITS:
        if num_layers >= 50:
            return IMAGENET_UNITS[num_layers], [64, 256, 512, 1024, 2048], True
        return IMAGENET_UNITS[num_layers], [64, 64, 128, 256, 512], False
    raise ValueError("num_layers %s" % num_layers)


def _bn(x, name, fix_gamma=False):
    return mx.sym.BatchNorm(data=x, fix_gamma=fix_gamma, eps=BN_EPS, momentum=BN_MOM, name=name)


def _conv(x, filters, kernel, stride, name):
    pad = (kernel // 2, kernel // 2)
    return mx.sym.Convolution(data=x, num_filter=filters, kernel=(kernel, kernel), stride=(stride, stride),
                              pad=pad, no_bias=True, workspace=256, name=name)


def _unit(x, filters, stride, same_shape, name, bottleneck):
    """Pre-activation residual unit; the projection shortcut reads the first activation."""
    act1 = mx.sym.Activation(data=_bn(x, name + "_bn1"), act_type="relu", name=name + "_relu1")
    if bottleneck:
        inner = int(filters * 0.25)
        y = _conv(act1, inner, 1, 1, name + "_conv1")
        y = mx.sym.Activation(data=_bn(y, name + "_bn2"), act_type="relu", name=name + "_relu2")
        y = _conv(y, inner, 3, stride, name + "_conv2")
        y = mx.sym.Activation(data=_bn(y, name + "_bn3"), act_type="relu", name=name + "_relu3")
        y = _conv(y, filters, 1, 1, name + "_conv3")
    else:
        y = _conv(act1, filters, 3, stride, name + "_conv1")
        y = mx.sym.Activation(data=_bn(y, name + "_bn2"), act_type="relu", name=name + "_relu2")
        y = _conv(y, filters, 3, 1, name + "_conv2")
    shortcut = x if same_shape else _conv(act1, filters, 1, stride, name + "_sc")
    return y + shortcut


def features(num_layers, image_shape, dtype="float32"):
    """The network up to the flattened global pool."""
    units, filters, bottleneck = layout(num_layers)
    data = mx.sym.Variable("data")
    data = mx.sym.identity(data=data, name="id") if dtype == "float32" else mx.sym.Cast(data=data, dtype=np.float16)
    body = _bn(data, "bn_data", fix_gamma=True)
    if image_shape[1] <= 32:
        body = _conv(body, filters[0], 3, 1, "conv0")
    else:
        body = _conv(body, filters[0], 7, 2, "conv0")
        body = mx.sym.Activation(data=_bn(body, "bn0"), act_type="relu", name="relu0")
        body = mx.sym.Pooling(data=body, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max")
    for s, n in enumerate(units):
        stride = 1 if s == 0 else 2
        body = _unit(body, filters[s + 1], stride, False, "stage%d_unit1" % (s + 1), bottleneck)
        for u in range(2, n + 1):
            body = _unit(body, filters[s + 1], 1, True, "stage%d_unit%d" % (s + 1, u), bottleneck)
    body = mx.sym.Activation(data=_bn(body, "bn1"), act_type="relu", name="relu1")
    pool = mx.sym.Pooling(data=body, global_pool=True, kernel=(7, 7), pool_type="avg", name="pool1")
    return mx.sym.Flatten(data=pool)


def logits(num_classes, num_layers, image_shape, dtype="float32"):
    fc = mx.sym.FullyConnected(data=features(num_layers, image_shape, dtype), num_hidden=num_classes, name="fc1")
    return mx.sym.Cast(data=fc, dtype=np.float32) if dtype == "float16" else fc


def get_symbol(num_classes, num_layers, image_shape, dtype="float32", multi_label=False):
    """The saved (and served) graph: softmax over classes, or independent sigmoids for multi-label."""
    fc = logits(num_classes, num_layers, image_shape, dtype)
    if multi_label:
        return mx.sym.LogisticRegressionOutput(data=fc, name="sigmoid")
    return mx.sym.SoftmaxOutput(data=fc, name="softmax")
