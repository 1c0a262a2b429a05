#!/usr/bin/python3
"""The benchmark models: a TorchScript MLP 64→128→10 and an XGBoost classifier trained on
scikit-learn's breast-cancer data (30 features). Writes mlp.pt, xgb.json and one example row of
each (mlp_row.json, xgb_row.json).

usage: make_models.py <out dir>
"""
import json
import sys

import numpy as np
import torch
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

out = sys.argv[1]
torch.manual_seed(0)
mlp = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).eval()
torch.jit.trace(mlp, torch.zeros(1, 64)).save(f"{out}/mlp.pt")
json.dump([round(float(v), 4) for v in np.random.default_rng(1).normal(size=64)], open(f"{out}/mlp_row.json", "w"))

data = load_breast_cancer()
booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
                    xgb.DMatrix(data.data, label=data.target), num_boost_round=100)
booster.save_model(f"{out}/xgb.json")
json.dump([float(v) for v in data.data[0]], open(f"{out}/xgb_row.json", "w"))
