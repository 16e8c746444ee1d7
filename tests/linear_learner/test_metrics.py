"""Every metric regex declared in algorithm.yaml matches the real training log of its predictor type."""
import os
import re

import yaml

import containers.linear_learner as pkg

DECL = yaml.safe_load(open(os.path.join(os.path.dirname(pkg.__file__), "algorithm.yaml")))
BINARY = {"binary_classification_accuracy", "binary_classifier_accuracy", "binary_f_beta", "precision", "recall",
          "roc_auc_score"}
MULTI = {"multiclass_accuracy", "multiclass_top_k_accuracy", "macro_precision", "macro_recall", "macro_f_beta",
         "dcg"}
REG = {"mse", "rmse", "absolute_loss"}


def _metric(name):
    return name.split(":")[1]


def test_declared_regexes_match_the_logs(trained):
    logs = {k: trained[k].result.log for k in trained}
    for m in DECL["metrics"]:
        metric = _metric(m["name"])
        kinds = ["binary"] if metric in BINARY else ["multiclass"] if metric in MULTI else \
            ["regression"] if metric in REG else ["binary", "multiclass", "regression"]
        for kind in kinds:
            found = re.findall(m["regex"], logs[kind])
            assert found, "%s (%s) not in the %s log" % (m["name"], m["regex"], kind)
            assert all(float(v) == float(v) for v in found), m["name"]
        others = {"binary", "multiclass", "regression"} - set(kinds)
        for kind in others:
            assert not re.findall(m["regex"], logs[kind]), "%s matched the %s log" % (m["name"], kind)


def test_metric_line_shapes(binary_model, multiclass_model):
    log = binary_model.result.log
    assert re.search(r"#quality_metric: host=algo-1, epoch=0, train binary_classification_cross_entropy_objective "
                     r"<loss>=\S+", log)
    assert re.search(r"#quality_metric: host=algo-1, test binary_f_1\.000 <score>=\S+", log)
    mlog = multiclass_model.result.log
    assert re.search(r"#quality_metric: host=algo-1, test multiclass_top_k_accuracy_3 <score>=\S+", mlog)
    assert re.search(r"#quality_metric: host=algo-1, test macro_f_1\.000 <score>=\S+", mlog)
