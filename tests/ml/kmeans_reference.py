"""Reference numbers for tests/ml/kmeans_test.cpp from Debian's python3-sklearn: standardised wine and
breast-cancer data, KMeans inertia for several k (n_init=10) and the silhouette of its labels."""
import json
import sys

from sklearn import datasets
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

out = {}
for name, loader in (("wine", datasets.load_wine), ("breast_cancer", datasets.load_breast_cancer)):
    x = StandardScaler().fit_transform(loader().data).astype("float32")
    cases = []
    for k in (2, 3, 5, 8):
        km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
        cases.append({"k": k, "inertia": float(km.inertia_),
                      "labels": [int(v) for v in km.labels_],
                      "silhouette": float(silhouette_score(x, km.labels_))})
    out[name] = {"rows": int(x.shape[0]), "cols": int(x.shape[1]), "x": [float(v) for v in x.ravel()],
                 "cases": cases}
json.dump(out, sys.stdout)
