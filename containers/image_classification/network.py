"""The training graph and metrics: the saved ResNet, or for weighted multi-label training the same
layers under a weighted binary cross-entropy (the saved graph keeps the plain sigmoid output)."""
import mxnet as mx

from containers.image_classification import resnet


def training_symbol(hp, shape, dtype, weighted):
    if not weighted:
        return resnet.get_symbol(hp["num_classes"], hp["num_layers"], shape, dtype, hp["multi_label"])
    fc = resnet.logits(hp["num_classes"], hp["num_layers"], shape, dtype)
    label = mx.sym.Variable("sigmoid_label")
    weight = mx.sym.Variable("class_weight", shape=(1, hp["num_classes"]))
    prob = mx.sym.sigmoid(fc)
    # log(sigmoid) through softplus: stable for large logits
    log_p = -mx.sym.Activation(-fc, act_type="softrelu")
    log_not_p = -mx.sym.Activation(fc, act_type="softrelu")
    loss = -(mx.sym.broadcast_mul(weight, label * log_p) + (1 - label) * log_not_p)
    return mx.sym.Group([mx.sym.BlockGrad(prob, name="sigmoid"),
                         mx.sym.MakeLoss(mx.sym.mean(mx.sym.sum(loss, axis=1)), name="weighted_bce")])


class MultiLabelAccuracy(mx.metric.EvalMetric):
    """Accuracy averaged over every (image, class) decision at 0.5: the guide's multi-label accuracy."""

    def __init__(self):
        super().__init__("accuracy")

    def update(self, labels, preds):
        y = labels[0].asnumpy() > 0.5
        p = preds[0].asnumpy() > 0.5
        correct = float((y == p).sum())
        self.sum_metric += correct
        self.global_sum_metric += correct
        self.num_inst += y.size
        self.global_num_inst += y.size


def metric(hp):
    if hp["multi_label"]:
        return MultiLabelAccuracy()
    metrics = [mx.metric.Accuracy()]
    if hp["top_k"] is not None:
        metrics.append(mx.metric.TopKAccuracy(top_k=hp["top_k"]))
    return metrics[0] if len(metrics) == 1 else mx.metric.CompositeEvalMetric(metrics)
