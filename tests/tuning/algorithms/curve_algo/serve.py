"""Answers every record with the rate the model was trained with."""
import json
import os
from collections import OrderedDict

import numpy as np


class Curve:
    def __init__(self, rate):
        self.rate = rate

    def predict(self, batch):
        return OrderedDict([("rate", np.full(len(batch), self.rate, dtype=np.float32))])


def load(model_dir):
    with open(os.path.join(model_dir, "curve.json")) as f:
        return Curve(json.load(f)["rate"])
