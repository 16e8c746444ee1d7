import pytest

import jobdata


@pytest.fixture(scope="session")
def digits_files(tmp_path_factory):
    """The digits split into train (recordIO and CSV-with-label) and test (CSV-with-label) channels."""
    root = tmp_path_factory.mktemp("digits")
    x, y = jobdata.digits()
    files = {
        "root": root,
        "train_rec": jobdata.write_recordio(str(root / "train-rec" / "part-0.rec"), x[:1500]),
        "train_csv": jobdata.write_csv(str(root / "train-csv" / "train.csv"), x[:1500], y[:1500]),
        "test_csv": jobdata.write_csv(str(root / "test-csv" / "test.csv"), x[1500:], y[1500:]),
        "x": x, "y": y,
    }
    # two objects, so ShardedByS3Key has something to deal out
    jobdata.write_recordio(str(root / "sharded" / "part-0.rec"), x[:900])
    jobdata.write_recordio(str(root / "sharded" / "part-1.rec"), x[900:1500])
    files["sharded"] = str(root / "sharded")
    return files
