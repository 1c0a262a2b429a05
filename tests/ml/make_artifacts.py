#!/usr/bin/python3
"""Makes the model artifacts the ml and registry tests load, with Debian's python3-torch and
python3-xgboost, plus the outputs those libraries compute for fixed inputs (expected.json).

usage: make_artifacts.py <out dir>
"""
import io
import json
import sys

import numpy as np
import torch
import xgboost as xgb

out = sys.argv[1]
expected = {}
x = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [0.0, -1.0, 2.5, 9.0]]

torch.manual_seed(7)
mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
with torch.no_grad():
    y = mlp(torch.tensor(x)).tolist()

# TorchScript (traced), served as it is with the signature given at upload.
torch.jit.trace(mlp, torch.zeros(1, 4)).save(f"{out}/mlp.pt")
expected["torchscript"] = {"inputs": x, "outputs": y}

# A second TorchScript MLP of the same shape with other weights (hot swap, result cache tests).
torch.manual_seed(8)
mlp2 = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
torch.jit.trace(mlp2, torch.zeros(1, 4)).save(f"{out}/mlp2.pt")
with torch.no_grad():
    expected["torchscript2"] = {"inputs": x, "outputs": mlp2(torch.tensor(x)).tolist()}

# A scripted module with two inputs and a tuple of outputs.
class Two(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor):
        return a + b, (a * b).sum(dim=1, keepdim=True)

torch.jit.script(Two()).save(f"{out}/two.pt")

# ONNX (opset 13, dynamic batch), run by OpenCV DNN.
buf = io.BytesIO()
torch.onnx.export(mlp, torch.zeros(1, 4), buf, input_names=["input"], output_names=["output"],
                  dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=13)
open(f"{out}/mlp.onnx", "wb").write(buf.getvalue())
expected["onnx"] = {"inputs": x, "outputs": y}

# XGBoost: a binary classifier (JSON and UBJSON) and a 3-class softprob model.
rng = np.random.default_rng(3)
features = rng.normal(size=(300, 4)).astype(np.float32)
labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(int)
binary = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
                   xgb.DMatrix(features, label=labels), num_boost_round=20)
binary.save_model(f"{out}/binary.json")
binary.save_model(f"{out}/binary.ubj")
xa = np.array(x, dtype=np.float32)
expected["xgboost_binary"] = {"inputs": x, "outputs": binary.predict(xgb.DMatrix(xa)).tolist()}

classes = np.digitize(features[:, 2], [-0.5, 0.5])
multi = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "nthread": 1},
                  xgb.DMatrix(features, label=classes), num_boost_round=15)
multi.save_model(f"{out}/multi.json")
expected["xgboost_multi"] = {"inputs": x, "outputs": multi.predict(xgb.DMatrix(xa)).tolist()}

json.dump(expected, open(f"{out}/expected.json", "w"))
