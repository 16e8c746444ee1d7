"""`local-job spec`: the CreateAlgorithm request of every algorithm in containers/, validated against the API's
own model (botocore's sagemaker service-2.json, which the official `sagemaker` client installs)."""
import re

import botocore.session
import pytest
from botocore.validate import ParamValidator

from contract import declaration, registry
from tuning_helpers import local_job

SHAPE = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateAlgorithm").input_shape


@pytest.fixture(scope="module")
def specs():
    r = local_job("spec", "all")
    assert r.rc == 0, r
    return r.out


def _limits(value, shape, path, errors):
    """What ParamValidator leaves to the service: enums, maximum lengths, patterns."""
    meta = shape.metadata
    if shape.type_name == "structure":
        for k, v in value.items():
            _limits(v, shape.members[k], "%s.%s" % (path, k), errors)
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            errors.append("%s: %d items, at most %d" % (path, len(value), meta["max"]))
        for i, v in enumerate(value):
            _limits(v, shape.member, "%s[%d]" % (path, i), errors)
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            errors.append("%s: %r is not one of the enum" % (path, value))
        if "max" in meta and len(value) > meta["max"]:
            errors.append("%s: longer than %d" % (path, meta["max"]))
        pattern = meta.get("pattern")
        if pattern and r"\p{" in pattern:
            ok = not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value)  # Unicode letters/marks/spaces/symbols/...
        else:
            ok = pattern is None or re.fullmatch(pattern, value)
        if not ok:
            errors.append("%s: %r does not match %s" % (path, value, pattern))


def test_tuning_spec_every_algorithm_validates_against_create_algorithm(specs):
    assert sorted(specs) == sorted(registry.available())
    for name, request in specs.items():
        report = ParamValidator().validate(request, SHAPE)
        assert not report.has_errors(), "%s: %s" % (name, report.generate_report())
        errors = []
        _limits(request, SHAPE, name, errors)
        assert not errors, errors


def test_tuning_spec_says_what_the_declaration_says(specs):
    paths = registry.available()
    for name, request in specs.items():
        decl = declaration.load(paths[name])
        ts, inf = request["TrainingSpecification"], request["InferenceSpecification"]
        hps = {h["Name"]: h for h in ts["SupportedHyperParameters"]}
        assert list(hps) == list(decl["hyperparameters"])[:100], name
        for hp_name, h in hps.items():
            spec = decl["hyperparameters"][hp_name]
            assert h["IsTunable"] == (hp_name in decl["tunable"]), (name, hp_name)
            assert h["IsRequired"] == bool(spec.get("required")), (name, hp_name)
            has_default = spec.get("default") is not None and not spec.get("required")
            assert ("DefaultValue" in h) == has_default, (name, hp_name)
            if h["Type"] in ("Integer", "Continuous") and spec.get("min") is not None:
                key = "%sParameterRangeSpecification" % h["Type"]
                assert float(h["Range"][key]["MinValue"]) == float(spec["min"]), (name, hp_name)
            if spec["type"] == "enum" and hp_name not in decl["tunable"]:
                values = h["Range"]["CategoricalParameterRangeSpecification"]["Values"]
                assert values == [str(v) for v in spec["values"]], (name, hp_name)
        regex = {m["name"]: m["regex"] for m in decl["metrics"]}
        direction = {m["name"]: m["direction"] for m in decl["metrics"]}
        defs = {m["Name"]: m["Regex"] for m in ts["MetricDefinitions"]}
        assert all(defs[n] == regex[n] for n in defs), name
        assert len(defs) == min(40, len(regex)), name
        for m in ts["SupportedTuningJobObjectiveMetrics"]:
            assert m["MetricName"] in defs and m["Type"] == direction[m["MetricName"]], (name, m)
        assert [c["Name"] for c in ts["TrainingChannels"]] == list(decl["channels"])
        for c in ts["TrainingChannels"]:
            ch = decl["channels"][c["Name"]]
            assert c["SupportedContentTypes"] == ch["content_types"] and c["IsRequired"] == bool(ch.get("required"))
        assert inf["SupportedContentTypes"] == decl["serving"]["content_types"]
        assert inf["SupportedResponseMIMETypes"] == decl["serving"]["accept"]
        assert inf["Containers"][0]["Image"] == ts["TrainingImage"]
    # the guide's instance classes: LDA trains on one CPU instance, XGBoost on CPU, image classification on GPU
    assert specs["lda"]["TrainingSpecification"]["SupportsDistributedTraining"] is False
    types = {n: s["TrainingSpecification"]["SupportedTrainingInstanceTypes"] for n, s in specs.items()}
    assert not any(t.startswith("ml.p") for t in types["xgboost"])
    assert all(t.startswith("ml.p") for t in types["image-classification"])


def test_tuning_spec_kmeans_regex_reads_the_real_log(kmeans_tuning):
    """The spec's test:msd definition, run over a real K-Means training log, gives the value the tuning
    job reported; and the spec lists test:msd as a Minimize objective, k as required and not tunable."""
    r = local_job("spec", "kmeans", "--registry", "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert r.rc == 0, r
    ts = r.out["TrainingSpecification"]
    assert ts["TrainingImage"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/kmeans:")
    assert {"Type": "Minimize", "MetricName": "test:msd"} in ts["SupportedTuningJobObjectiveMetrics"]
    k = [h for h in ts["SupportedHyperParameters"] if h["Name"] == "k"][0]
    assert k["IsRequired"] and not k["IsTunable"] and k["Type"] == "Integer"
    regex = [m["Regex"] for m in ts["MetricDefinitions"] if m["Name"] == "test:msd"][0]
    row = kmeans_tuning["result"].out["TrainingJobSummaries"][0]
    log = (kmeans_tuning["out"] / row["TrainingJobName"] / "logs" / "algo-1.log").read_text()
    assert float(re.findall(regex, log)[-1]) == row["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
