"""Image Classification models trained once per session by the real `train` program: a ResNet-20 on
digits in a .rec, then continued from its artifact on the same digits as JPEG files + .lst."""
import contextlib
import pytest

from helpers import job_dir, run_train, served
from icdata import ALGO, hp, lst_channels, model_tarball, rec_bytes, rec_channel, split


@pytest.fixture(scope="session")
def ic_rec(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ic-rec-data")
    tr, va = split()
    return {"train": rec_bytes(tr, tmp=tmp), "validation": rec_bytes(va, tmp=tmp)}


@pytest.fixture(scope="session")
def rec_model(tmp_path_factory, ic_rec):
    base = tmp_path_factory.mktemp("ic-rec")
    job_dir(base, hp(), {"train": rec_channel(ic_rec["train"]), "validation": rec_channel(ic_rec["validation"])})
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    return r


@pytest.fixture(scope="session")
def incremental_model(tmp_path_factory, rec_model):
    """Two more epochs from rec_model's model.tar.gz, reading JPEG files through .lst channels."""
    base = tmp_path_factory.mktemp("ic-lst-incremental")
    tr, va = split()
    channels = dict(lst_channels(tr, "train"), **lst_channels(va, "validation"))
    channels["model"] = {"content_type": "application/x-sagemaker-model",
                         "files": {"model.tar.gz": model_tarball(rec_model.model_dir)}}
    job_dir(base, hp(epochs=2, learning_rate=0.01, lr_scheduler_step=""), channels)
    r = run_train(base, ALGO)
    assert r.rc == 0, r.log[-3000:]
    return r


@pytest.fixture(scope="session")
def _ic_servers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def ic_server(rec_model, _ic_servers):
    return _ic_servers.enter_context(served(rec_model.base, ALGO))


@pytest.fixture(scope="session")
def ic_batch_server(rec_model, _ic_servers):
    return _ic_servers.enter_context(served(rec_model.base, ALGO, env={"SAGEMAKER_BATCH": "true"}))
