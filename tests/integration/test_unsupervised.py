"""Unsupervised models on the real binary: k-means and an autoencoder trained on iris (exported from
Debian's python3-sklearn by the test), the registered versions' metrics, clusters from /predict,
vectors from /embed, nearest rows from /search, and field-level errors."""
import csv
import io
import time
import unittest

from harness import Server
from test_training import sklearn_csv


FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


class Unsupervised(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.admin = cls.s.login()
        data = sklearn_csv("load_iris")
        cls.rows = list(csv.DictReader(io.StringIO(data.decode())))
        r = cls.s.call("POST", "/api/v1/datasets?name=iris", cls.admin, data, {"Content-Type": "text/csv"})
        assert r.status == 201, r.body
        cls.iris = r.json()["id"]
        cls.kmeans = cls.train({"name": "iris-kmeans", "dataset": cls.iris, "exclude": ["target"],
                                "model": {"model_type": "clustering", "architecture": "kmeans",
                                          "params": {"k": 3, "n_init": 4, "init": "k-means++"}},
                                "register": {"model_name": "iris-clusters"}, "seed": 3})
        cls.ae = cls.train({"name": "iris-ae", "dataset": cls.iris, "exclude": ["target"],
                            "model": {"model_type": "embedding", "architecture": "autoencoder",
                                      "params": {"hidden": 16, "embedding_dim": 2}},
                            "optimizer": {"type": "adam", "lr": 0.01}, "epochs": 40, "batch_size": 16,
                            "register": {"model_name": "iris-embed"}, "seed": 5})

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    @classmethod
    def train(cls, spec):
        r = cls.s.call("POST", "/api/v1/training/jobs", cls.admin, spec)
        assert r.status == 202, r.body
        job_id = r.json()["id"]
        deadline = time.time() + 180
        while time.time() < deadline:
            j = cls.s.call("GET", "/api/v1/training/jobs/" + job_id, cls.admin).json()
            if j["status"] in ("succeeded", "failed", "cancelled"):
                return j
            time.sleep(0.1)
        raise AssertionError("job %s did not finish" % job_id)

    def instance(self, i):
        return {f: float(self.rows[i][f]) for f in FEATURES}

    def test_kmeans_registers_inertia_and_silhouette_and_predicts_clusters(self):
        self.assertEqual(self.kmeans["status"], "succeeded", self.kmeans)
        # Converged before max_iter x n_init: the job still ends at 100 %, its best metric the silhouette.
        self.assertEqual((self.kmeans["progress"], self.kmeans["epoch"]), (1.0, self.kmeans["epochs"]))
        self.assertEqual(self.kmeans["best"]["metric"], "silhouette")
        v = self.s.call("GET", "/api/v1/models/iris-clusters/versions/1", self.admin).json()
        self.assertEqual(self.kmeans["best"]["value"], v["metrics"]["silhouette"])
        self.assertGreater(v["metrics"]["inertia"], 0)
        # Standardised iris with k = 3: scikit-learn's inertia is 139.8 on all 150 rows; on the 80 %
        # training split it is proportionally smaller. Silhouette of three iris clusters ≈ 0.46.
        self.assertLess(v["metrics"]["inertia"], 139.8)
        self.assertGreater(v["metrics"]["silhouette"], 0.3)
        self.assertLessEqual(v["metrics"]["silhouette"], 1.0)
        # A setosa and a virginica row land in different clusters; distances to each of the 3 centroids.
        r = self.s.call("POST", "/api/v1/models/iris-clusters/versions/1/predict", self.admin,
                        {"instances": [self.instance(0), self.instance(149)]})
        self.assertEqual(r.status, 200, r.body)
        body = r.json()
        clusters = [o if isinstance(o, int) else o[0] for o in body["outputs"]] if "outputs" in body else []
        self.assertEqual(len(body["distances"]), 2)
        self.assertEqual(len(body["distances"][0]), 3)
        nearest = [d.index(min(d)) for d in body["distances"]]
        self.assertNotEqual(nearest[0], nearest[1])
        if clusters:
            self.assertEqual(clusters, nearest)

    def test_autoencoder_embeds_rows(self):
        self.assertEqual(self.ae["status"], "succeeded", self.ae)
        v = self.s.call("GET", "/api/v1/models/iris-embed/versions/1", self.admin).json()
        self.assertIn("val_loss", v["metrics"])
        self.assertLess(v["metrics"]["val_loss"], 0.5)  # standardised features: 1.0 is knowing nothing
        self.assertEqual((self.ae["best"]["metric"], self.ae["best"]["value"]), ("val_loss", v["metrics"]["val_loss"]))
        r = self.s.call("POST", "/api/v1/models/iris-embed/embed", self.admin,
                        {"instances": [self.instance(0), self.instance(1), self.instance(100)], "version": 1})
        self.assertEqual(r.status, 200, r.body)
        body = r.json()
        self.assertEqual(body["dim"], 2)
        self.assertEqual(body["model_version"], 1)
        self.assertEqual(len(body["embeddings"]), 3)
        self.assertTrue(all(len(e) == 2 for e in body["embeddings"]))

    def test_search_finds_the_query_row_itself(self):
        for i in (0, 75, 149):
            r = self.s.call("POST", "/api/v1/models/iris-embed/search", self.admin,
                            {"dataset": "iris", "instances": [self.instance(i)], "k": 5, "include_rows": True,
                             "version": 1})
            self.assertEqual(r.status, 200, r.body)
            hits = r.json()["results"][0]
            self.assertEqual(len(hits), 5)
            self.assertAlmostEqual(hits[0]["distance"], 0.0, places=4)
            # Duplicated iris rows tie at distance 0: the query's row is among the exact matches.
            exact = [h for h in hits if h["distance"] < 1e-4]
            self.assertIn(i, [h["row"] for h in exact])
            self.assertEqual(float(exact[0]["record"]["sepal length (cm)"]), float(self.rows[i]["sepal length (cm)"]))
            self.assertEqual(sorted(h["distance"] for h in hits), [h["distance"] for h in hits])
        # Vectors in the embedding space work too (dimension checked).
        emb = self.s.call("POST", "/api/v1/models/iris-embed/embed", self.admin,
                          {"instances": [self.instance(10)], "version": 1}).json()["embeddings"]
        r = self.s.call("POST", "/api/v1/models/iris-embed/search", self.admin,
                        {"dataset": self.iris, "vectors": emb, "k": 3, "version": 1})
        self.assertEqual(r.status, 200, r.body)
        self.assertAlmostEqual(r.json()["results"][0][0]["distance"], 0.0, places=4)

    def test_bad_inputs_name_the_field(self):
        def expect(path, body, status, field):
            r = self.s.call("POST", path, self.admin, body)
            self.assertEqual(r.status, status, r.body)
            self.assertEqual(r.json()["error"]["details"]["field"], field, r.body)
        search = "/api/v1/models/iris-embed/search"
        expect(search, {"instances": [self.instance(0)], "version": 1}, 400, "dataset")
        expect(search, {"dataset": "iris", "instances": [self.instance(0)], "k": 0, "version": 1}, 400, "k")
        expect(search, {"dataset": "iris", "vectors": [[1, 2, 3]], "version": 1}, 400, "vectors[0]")
        expect(search, {"dataset": "iris", "version": 1}, 400, "instances")
        expect("/api/v1/models/iris-embed/embed", {"version": 1}, 400, "instances")
        expect("/api/v1/models/iris-embed/embed", {"instances": [{"petal size": 1}], "version": 1}, 400,
               "instances[0].petal size")
        # Training parameters are checked when the job is submitted.
        for params, field in (({"k": 0}, "model.params.k"), ({"init": "kmeans||"}, "model.params.init"),
                              ({"clusters": 3}, "model.params.clusters")):
            r = self.s.call("POST", "/api/v1/training/jobs", self.admin,
                            {"dataset": self.iris, "model": {"model_type": "clustering", "architecture": "kmeans",
                                                             "params": params}})
            self.assertEqual(r.status, 400, r.body)
            self.assertEqual(r.json()["error"]["details"]["field"], field)
        r = self.s.call("POST", "/api/v1/training/jobs", self.admin,
                        {"dataset": self.iris, "model": {"model_type": "embedding", "architecture": "autoencoder",
                                                         "params": {"embedding_dim": 0}}})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()["error"]["details"]["field"], "model.params.embedding_dim")

    def test_a_clustering_model_cannot_embed(self):
        r = self.s.call("POST", "/api/v1/models/iris-clusters/embed", self.admin,
                        {"instances": [self.instance(0)], "version": 1})
        self.assertIn(r.status, (409, 412), r.body)
        self.assertEqual(r.json()["error"]["code"], "failed_precondition")
        self.assertIn("not an embedding model", r.json()["error"]["message"])


if __name__ == "__main__":
    unittest.main()
