"""Reference side of bench/training.sh (Debian's python3-sklearn, python3-xgboost, python3-torch).

  training_peer.py export DIR            -> DIR/<name>.csv for iris, wine, breast_cancer, digits, diabetes,
                                            rows shuffled with a fixed seed; the last 20 % are the
                                            validation split on both sides (C19 AI: validation.shuffle=false)
  training_peer.py reference DIR         -> JSON: sklearn MLP and XGBoost validation scores per dataset
  training_peer.py throughput DIR EPOCHS [foreach] -> JSON: samples/s of the same MLP loop in PyTorch on
                                            digits (torch.optim.Adam's default loop, or foreach=True)
"""
import json
import os
import sys
import time

import numpy as np

DATASETS = {  # name: (loader, task)
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "digits": ("load_digits", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}
MLP_HIDDEN = (64, 64)
SPLIT = 0.2


def export(out):
    from sklearn import datasets
    rng = np.random.RandomState(1234)
    for name, (loader, _) in DATASETS.items():
        frame = getattr(datasets, loader)(as_frame=True).frame
        frame = frame.iloc[rng.permutation(len(frame))]
        frame.to_csv(os.path.join(out, name + ".csv"), index=False)


def split(out, name):
    import pandas as pd
    frame = pd.read_csv(os.path.join(out, name + ".csv"))
    n_val = int(round(SPLIT * len(frame)))
    y = frame.pop("target").to_numpy()
    x = frame.to_numpy(dtype=np.float64)
    return x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]


def reference(out):
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler
    import xgboost as xgb
    result = {}
    for name, (_, task) in DATASETS.items():
        xt, yt, xv, yv = split(out, name)
        scaler = StandardScaler().fit(xt)
        if task == "classification":
            mlp = MLPClassifier(hidden_layer_sizes=MLP_HIDDEN, max_iter=500, random_state=0).fit(scaler.transform(xt), yt)
            gbt = xgb.XGBClassifier(n_estimators=200, max_depth=4, learning_rate=0.1, tree_method="hist").fit(xt, yt)
            score = lambda m, x: accuracy_score(yv, m.predict(x))
        else:
            mlp = MLPRegressor(hidden_layer_sizes=MLP_HIDDEN, max_iter=2000, random_state=0).fit(scaler.transform(xt), yt)
            gbt = xgb.XGBRegressor(n_estimators=200, max_depth=4, learning_rate=0.1, tree_method="hist").fit(xt, yt)
            score = lambda m, x: r2_score(yv, m.predict(x))
        result[name] = {"task": task, "mlp": score(mlp, scaler.transform(xv)), "gbtree": score(gbt, xv)}
    return result


def throughput(out, epochs, foreach=False):
    import torch
    torch.set_num_threads(1)
    xt, yt, _, _ = split(out, "digits")
    x = torch.tensor((xt - xt.mean(0)) / np.where(xt.std(0) > 0, xt.std(0), 1), dtype=torch.float32)
    y = torch.tensor(yt, dtype=torch.long)
    torch.manual_seed(0)
    layers, width = [], x.shape[1]
    for h in MLP_HIDDEN:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
    # foreach=True: PyTorch's multi-tensor Adam (the default on CUDA only).
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=foreach)
    rates = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
        rates.append(len(x) / (time.perf_counter() - start))
    return {"samples_per_s": float(np.median(rates)), "epochs": epochs}


if __name__ == "__main__":
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "export":
        export(out)
    elif cmd == "reference":
        print(json.dumps(reference(out)))
    else:
        print(json.dumps(throughput(out, int(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == "foreach")))
