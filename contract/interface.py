"""What an algorithm provides, as code. containers/README.md is the prose version.

An algorithm folder declares in algorithm.yaml a training module with `train(job)` and a serving
module with `load(model_dir) -> Predictor`. The two never import each other's half of the runtime:
training modules may import `training`, serving modules only `contract` and `formats`.
"""
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Protocol, runtime_checkable


@dataclass(frozen=True)
class MediaType:
    """A Content-Type or Accept value: `mime` lower-case and de-aliased, `params` with lower-case names
    and stripped values (`application/jsonlines; Verbose = True` -> params {"verbose": "True"})."""
    mime: Optional[str]
    params: Mapping[str, str] = field(default_factory=dict)

    def flag(self, name, default=False):
        """A boolean parameter (`verbose=true`, `verbose=True`, `verbose=1`)."""
        raw = self.params.get(name.lower())
        if raw is None:
            return default
        return raw.strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class Request:
    """One /invocations request as an algorithm's decode/encode hooks see it."""
    content_type: MediaType
    accept: MediaType
    batch: bool  # SAGEMAKER_BATCH is true: a batch transform job, not an endpoint
    environ: Mapping[str, str]
    headers: Mapping[str, str]


@runtime_checkable
class Predictor(Protocol):
    """What `load(model_dir)` returns.

    predict(data): data is what decode returned (by default a formats.Batch of the request's
    records); returns an ordered dict of output name -> array with one entry per record (a scalar per
    record, or a vector per record as a 2-D array), or whatever the algorithm's encode takes.

    Optional hooks, looked up on the object:
      decode(body: bytes, request: Request) -> data        (default: formats.codecs.decode)
      encode(outputs, request: Request) -> bytes, (bytes, media type), or None (None: the default
                                           encoding; a media type overrides the negotiated Accept)
    Raising contract.errors.ClientError in any of them answers its 4xx status with the message.
    """

    def predict(self, data: Any) -> Any:
        ...


class TrainingModule(Protocol):
    def train(self, job) -> None:
        """job: training.job.TrainingJob (hyperparameters, channels, hosts, kvstore, metrics, save_model)."""


class ServingModule(Protocol):
    def load(self, model_dir: str) -> Predictor:
        ...
