"""Bad input fails fast with a ClientError naming the hyperparameter, channel, file, line or record."""

import pytest

from formats import recordio
from helpers import job_dir, run_train
from icdata import ALGO, IMAGE, hp, image_files, model_tarball, rec_bytes, rec_channel, split


def _fails(tmp_path, hyper, channels):
    r = run_train(job_dir(tmp_path, hyper, channels), ALGO)
    assert r.rc == 2, r.log[-2000:]
    assert r.failure.startswith("ClientError: ")
    return r.failure


@pytest.fixture(scope="module")
def small_rec(tmp_path_factory):
    tr, _ = split()
    return rec_bytes(tr[:40], tmp=tmp_path_factory.mktemp("ic-small"))


def test_invalid_lst_line_names_file_and_line(tmp_path):
    tr, _ = split()
    files, lst = image_files(tr[:40], prefix="train")
    lines = lst.splitlines(True)
    lines[2] = lines[2].replace("\t", " ")  # space-separated: not a .lst line
    channels = {"train": {"content_type": IMAGE, "files": files},
                "train_lst": {"content_type": IMAGE, "files": {"train.lst": "".join(lines).encode()}},
                "validation": {"content_type": IMAGE, "files": files},
                "validation_lst": {"content_type": IMAGE, "files": {"v.lst": lst.encode()}}}
    msg = _fails(tmp_path, hp(), channels)
    assert "invalid .lst file in channel train_lst (train.lst): line 3" in msg


def test_lst_naming_a_missing_image(tmp_path):
    tr, _ = split()
    files, lst = image_files(tr[:40], prefix="train")
    channels = {"train": {"content_type": IMAGE, "files": files},
                "train_lst": {"content_type": IMAGE, "files": {"train.lst": (lst + "99\t1\ttrain/nope.jpg\n").encode()}},
                "validation": {"content_type": IMAGE, "files": files},
                "validation_lst": {"content_type": IMAGE, "files": {"v.lst": lst.encode()}}}
    msg = _fails(tmp_path, hp(), channels)
    assert "line 41" in msg and "train/nope.jpg not found" in msg


def test_fewer_images_than_mini_batch_size(tmp_path, small_rec):
    msg = _fails(tmp_path, hp(mini_batch_size=64), {"train": rec_channel(small_rec), "validation": rec_channel(small_rec)})
    assert "number of input images (40 in channel train)" in msg and "mini_batch_size (64)" in msg


def test_empty_rec_file(tmp_path, small_rec):
    msg = _fails(tmp_path, hp(), {"train": rec_channel(small_rec), "validation": rec_channel(b"")})
    assert "channel validation: empty .rec file data.rec" in msg


def test_record_that_is_not_an_image(tmp_path, small_rec):
    payloads, _ = recordio.split(small_rec)
    payloads[5] = payloads[5][:24] + b"this is not an image at all"
    bad = recordio.encode_all(payloads)
    msg = _fails(tmp_path, hp(), {"train": rec_channel(bad), "validation": rec_channel(small_rec)})
    assert "channel train, data.rec: record 5 is not a JPEG or PNG image" in msg


def test_label_outside_num_classes(tmp_path, small_rec):
    msg = _fails(tmp_path, hp(num_classes=5), {"train": rec_channel(small_rec), "validation": rec_channel(small_rec)})
    assert "is not a class in [0, 5)" in msg


@pytest.mark.parametrize("name,value,words", [
    ("num_layers", "19", "hyperparameter num_layers"),
    ("image_shape", "3,224", "hyperparameter image_shape"),
    ("augmentation_type", "rotate", "hyperparameter augmentation_type"),
    ("checkpoint_frequency", "9", "checkpoint_frequency: 9 is more than epochs"),
])
def test_bad_hyperparameters(tmp_path, small_rec, name, value, words):
    msg = _fails(tmp_path, hp(**{name: value}), {"train": rec_channel(small_rec), "validation": rec_channel(small_rec)})
    assert words in msg


def test_pretrained_model_needs_weights_in_the_model_channel(tmp_path, small_rec):
    msg = _fails(tmp_path, hp(use_pretrained_model=1), {"train": rec_channel(small_rec),
                                                        "validation": rec_channel(small_rec)})
    assert "use_pretrained_model=1" in msg and "`model` channel" in msg


def test_incremental_training_with_other_num_classes(tmp_path, small_rec, rec_model):
    model = {"content_type": "application/x-sagemaker-model",
             "files": {"model.tar.gz": model_tarball(rec_model.model_dir)}}
    msg = _fails(tmp_path, hp(num_classes=12), {"train": rec_channel(small_rec), "validation": rec_channel(small_rec),
                                                "model": model})
    assert "model has num_classes=10, the hyperparameter num_classes=12" in msg
    msg = _fails(tmp_path / "layers", hp(num_layers=32), {"train": rec_channel(small_rec),
                                                          "validation": rec_channel(small_rec), "model": model})
    assert "model has num_layers=20, the hyperparameter num_layers=32" in msg
