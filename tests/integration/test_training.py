"""Training jobs on the real binary: real datasets exported from Debian's python3-sklearn, MLP and
XGBoost jobs, live metrics and logs, cancel and resume (with the same final weights as an
uninterrupted run), a worker killed with SIGKILL mid-job, field-level errors, and serving the
registered bundle on raw rows."""
import csv
import io
import json
import os
import signal
import subprocess
import time
import unittest

from harness import BIN, TEST_ARGS, Server, run_cli


def sklearn_csv(loader):
    out = subprocess.run(["/usr/bin/python3", "-c",
                          "import sys\nfrom sklearn import datasets\n"
                          "d = datasets.%s(as_frame=True).frame\nd.to_csv(sys.stdout, index=False)" % loader],
                         check=True, capture_output=True)
    return out.stdout


IRIS_SPEC = {
    "name": "iris-mlp", "experiment": "it", "target": "target",
    "model": {"model_type": "classification", "framework": "torch", "architecture": "mlp",
              "params": {"hidden": [32, 32], "dropout": 0.1}},
    "optimizer": {"type": "adam", "lr": 0.01}, "scheduler": {"type": "step", "step_size": 10, "gamma": 0.5},
    "epochs": 30, "batch_size": 16, "validation": {"split": 0.2, "metric": "accuracy"},
    "checkpoint": {"every_epochs": 1, "keep_last": 2}, "seed": 7,
}


class Training(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.admin = cls.s.login()
        cls.iris = cls.upload("iris", sklearn_csv("load_iris"))
        cls.diabetes = cls.upload("diabetes", sklearn_csv("load_diabetes"))

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    @classmethod
    def upload(cls, name, data):
        r = cls.s.call("POST", "/api/v1/datasets?name=" + name, cls.admin, data, {"Content-Type": "text/csv"})
        assert r.status == 201, r.body
        return r.json()["id"]

    def submit(self, spec, expect=202):
        r = self.s.call("POST", "/api/v1/training/jobs", self.admin, spec)
        self.assertEqual(r.status, expect, r.body)
        return r.json()

    def wait(self, job_id, statuses=("succeeded", "failed", "cancelled"), timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            j = self.s.call("GET", "/api/v1/training/jobs/" + job_id, self.admin).json()
            if j["status"] in statuses:
                return j
            time.sleep(0.1)
        self.fail("job %s did not reach %s: %s" % (job_id, statuses, j))

    def artifact_sha(self, model, version):
        return self.s.call("GET", "/api/v1/models/%s/versions/%d" % (model, version), self.admin).json()["sha256"]

    def test_mlp_classifier_end_to_end(self):
        spec = dict(IRIS_SPEC, dataset=self.iris, register={"model_name": "iris-it"}, log_every_steps=5)
        job = self.submit(spec)
        self.assertEqual(job["status"], "queued")
        done = self.wait(job["id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual((done["epoch"], done["epochs"], done["progress"]), (30, 30, 1.0))
        self.assertGreaterEqual(done["best"]["value"], 0.9)
        self.assertEqual(done["model"], {"name": "iris-it", "version": 1})
        answer = self.s.call("GET", "/api/v1/training/jobs/%s/metrics" % job["id"], self.admin).json()
        metrics = answer["items"]
        # log_every_steps 5: 120 training rows / batch 16 = 8 steps an epoch, 240 in all.
        self.assertEqual([s["step"] for s in answer["steps"]], list(range(5, 241, 5)))
        self.assertEqual(answer["steps"][-1]["epoch"], 30)
        self.assertEqual([m["epoch"] for m in metrics], list(range(1, 31)))
        self.assertLess(metrics[-1]["train_loss"], metrics[0]["train_loss"])
        self.assertAlmostEqual(metrics[0]["lr"], 0.01)
        self.assertAlmostEqual(metrics[10]["lr"], 0.005)   # StepLR: halved after 10 epochs
        self.assertGreater(metrics[0]["samples_per_s"], 0)
        cps = self.s.call("GET", "/api/v1/training/jobs/%s/checkpoints" % job["id"], self.admin).json()["items"]
        self.assertEqual([c["epoch"] for c in cps], [29, 30])   # keep_last 2
        logs = self.s.call("GET", "/api/v1/training/jobs/%s/logs" % job["id"], self.admin).json()["items"]
        self.assertTrue(any("epoch 30/30" in l["message"] for l in logs), logs[-3:])
        # The registered version carries metrics, params, signature and lineage ...
        v = self.s.call("GET", "/api/v1/models/iris-it/versions/1", self.admin).json()
        self.assertEqual(v["metrics"]["accuracy"], done["best"]["value"])
        self.assertEqual(v["lineage"]["job_id"], job["id"])
        self.assertEqual(v["lineage"]["dataset_id"], self.iris)
        self.assertEqual(v["params"]["optimizer"]["type"], "adam")
        self.assertEqual([i["name"] for i in v["signature"]["inputs"]][:2], ["sepal length (cm)", "sepal width (cm)"])
        # ... and serves raw rows by column name, answering labels and probabilities.
        r = self.s.call("POST", "/api/v1/models/iris-it/versions/1/predict", self.admin,
                        {"instances": [{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4,
                                        "petal width (cm)": 0.2},
                                       {"sepal length (cm)": 6.7, "sepal width (cm)": 3.0, "petal length (cm)": 5.2,
                                        "petal width (cm)": 2.3}]})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["labels"], ["0", "2"])
        self.assertEqual(len(r.json()["probabilities"][0]), 3)

    def test_cancel_and_resume_give_the_uninterrupted_weights(self):
        spec = dict(IRIS_SPEC, dataset=self.iris, epochs=400, batch_size=4)
        a = self.submit(dict(spec, register={"model_name": "iris-straight"}))
        a_done = self.wait(a["id"])
        self.assertEqual(a_done["status"], "succeeded", a_done)
        b = self.submit(dict(spec, register={"model_name": "iris-resumed"}))
        # Cancel once a few checkpoints exist.
        deadline = time.time() + 60
        while self.s.call("GET", "/api/v1/training/jobs/" + b["id"], self.admin).json()["epoch"] < 5:
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        t0 = time.time()
        r = self.s.call("POST", "/api/v1/training/jobs/%s/cancel" % b["id"], self.admin)
        self.assertEqual(r.status, 200, r.body)
        cancelled = self.wait(b["id"], ("cancelled", "succeeded"))
        self.assertEqual(cancelled["status"], "cancelled")
        self.assertLess(time.time() - t0, 5)
        self.assertLess(cancelled["epoch"], 400)
        r = self.s.call("POST", "/api/v1/training/jobs/%s/resume" % b["id"], self.admin)
        self.assertEqual(r.status, 202, r.body)
        b_done = self.wait(b["id"])
        self.assertEqual(b_done["status"], "succeeded", b_done)
        self.assertEqual(b_done["best"], a_done["best"])
        # Same bytes: same weights, preprocessing, labels and metrics.
        self.assertEqual(self.artifact_sha("iris-resumed", 1), self.artifact_sha("iris-straight", 1))
        logs = self.s.call("GET", "/api/v1/training/jobs/%s/logs" % b["id"], self.admin).json()["items"]
        self.assertTrue(any("continuing from the checkpoint" in l["message"] for l in logs))
        # Only cancelled or failed jobs resume; finished ones cannot be cancelled.
        self.assertEqual(self.s.call("POST", "/api/v1/training/jobs/%s/resume" % b["id"], self.admin).status, 412)
        self.assertEqual(self.s.call("POST", "/api/v1/training/jobs/%s/cancel" % b["id"], self.admin).status, 412)

    def test_gbtree_regression_with_early_stopping(self):
        spec = {"dataset": self.diabetes, "target": "target",
                "model": {"model_type": "regression", "framework": "xgboost", "architecture": "gbtree",
                          "params": {"num_rounds": 300, "max_depth": 3, "eta": 0.1}},
                "validation": {"split": 0.2, "metric": "r2"},
                "early_stopping": {"metric": "rmse", "patience": 10}, "checkpoint": {"every_epochs": 25},
                "register": {"model_name": "diabetes-gbt"}}
        done = self.wait(self.submit(spec)["id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertLess(done["epoch"], 300)       # stopped early
        self.assertGreater(done["best"]["value"], 0.3)
        r = self.s.call("POST", "/api/v1/models/diabetes-gbt/versions/1/predict", self.admin,
                        {"instances": [{"age": 0.04, "sex": 0.05, "bmi": 0.06, "bp": 0.02, "s1": -0.04, "s2": -0.03,
                                        "s3": -0.04, "s4": -0.002, "s5": 0.02, "s6": -0.02}]})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(25 < r.json()["outputs"][0] < 346)

    def test_mlp_regression_undoes_the_target_scaling(self):
        spec = {"dataset": self.diabetes, "target": "target", "epochs": 40, "batch_size": 32,
                "model": {"model_type": "regression", "architecture": "mlp", "params": {"hidden": [32]}},
                "optimizer": {"type": "adamw", "lr": 0.01}, "validation": {"metric": "r2"},
                "register": {"model_name": "diabetes-mlp"}}
        done = self.wait(self.submit(spec)["id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertGreater(done["best"]["value"], 0.3)
        r = self.s.call("POST", "/api/v1/models/diabetes-mlp/predict", self.admin,
                        {"instances": [{"age": 0.04, "sex": 0.05, "bmi": 0.06, "bp": 0.02, "s1": -0.04, "s2": -0.03,
                                        "s3": -0.04, "s4": -0.002, "s5": 0.02, "s6": -0.02}]})
        self.assertEqual(r.status, 404)           # registered, not promoted: nothing in production
        r = self.s.call("POST", "/api/v1/models/diabetes-mlp/versions/1/predict", self.admin,
                        {"instances": [{"age": 0.04, "sex": 0.05, "bmi": 0.06, "bp": 0.02, "s1": -0.04, "s2": -0.03,
                                        "s3": -0.04, "s4": -0.002, "s5": 0.02, "s6": -0.02}]})
        self.assertTrue(25 < r.json()["outputs"][0] < 346, r.body)

    def test_specs_are_checked_field_by_field(self):
        base = dict(IRIS_SPEC, dataset=self.iris)
        cases = [
            (dict(base, colour="red"), "colour"),
            (dict(base, epochs=0), "epochs"),
            (dict(base, target="nope"), "target"),
            (dict(base, optimizer={"type": "sgd", "betas": [0.9, 0.99]}), "optimizer.betas"),
            (dict(base, optimizer={"type": "lion"}), "optimizer.type"),
            (dict(base, optimizer={"type": "adam", "lr": -1}), "optimizer.lr"),
            (dict(base, scheduler={"type": "step", "t_max": 3}), "scheduler.t_max"),
            (dict(base, scheduler={"type": "warp"}), "scheduler.type"),
            (dict(base, model=dict(base["model"], architecture="transformer")), "model.architecture"),
            (dict(base, model=dict(base["model"], params={"hidden": "wide"})), "model.params.hidden"),
            (dict(base, validation={"split": 2}), "validation.split"),
            (dict(base, validation={"metric": "r2"}), "validation.metric"),
            (dict(base, features=["target"]), "features"),
            (dict(base, log_every_steps=-1), "log_every_steps"),
        ]
        for body, field in cases:
            r = self.s.call("POST", "/api/v1/training/jobs", self.admin, body)
            self.assertEqual(r.status, 400, (field, r.body))
            self.assertEqual(r.json()["error"]["details"]["field"], field, r.body)
        r = self.s.call("POST", "/api/v1/training/jobs", self.admin, dict(base, dataset="missing"))
        self.assertEqual(r.status, 404)
        self.assertEqual(self.s.call("GET", "/api/v1/training/jobs/nope", self.admin).status, 404)

    def test_cli_submit_follow_and_list(self):
        path = os.path.join(self.s.dir, "spec.json")
        with open(path, "w") as f:
            json.dump(dict(IRIS_SPEC, dataset=self.iris, epochs=5, experiment="cli"), f)
        env = {"C19AI_URL": "http://127.0.0.1:%d" % self.s.port, "C19AI_TOKEN": self.admin}
        r = run_cli("train", "submit", path, "--follow", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("epoch 5/5", r.stderr)
        self.assertIn("succeeded", r.stdout)
        r = run_cli("train", "list", "--experiment", "cli", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.strip().splitlines()), 1)
        job_id = r.stdout.split()[0]
        r = run_cli("train", "show", job_id, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("train_loss", r.stdout)
        r = run_cli("train", "resume", job_id, env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("only a cancelled or failed job", r.stderr)


class KilledWorker(unittest.TestCase):
    """A worker killed with SIGKILL mid-job: another worker picks the job up from its last checkpoint."""

    def setUp(self):
        self.s = Server(args=["--set", "workers.embedded=false"])
        self.admin = self.s.login()
        self.workers = []

    def tearDown(self):
        for w in self.workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        self.s.stop()

    def worker(self):
        cmd = [BIN, "worker", "--data-dir", self.s.dir] + TEST_ARGS
        if self.s.database_url:
            cmd += ["--database", self.s.database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("C19AI_")}
        log = open(os.path.join(self.s.dir, "worker%d.log" % len(self.workers)), "wb")
        w = subprocess.Popen(cmd, cwd=self.s.dir, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.workers.append(w)
        return w

    def test_sigkill_mid_job_resumes_from_the_checkpoint(self):
        r = self.s.call("POST", "/api/v1/datasets?name=iris", self.admin, sklearn_csv("load_iris"),
                        {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 201, r.body)
        spec = dict(IRIS_SPEC, dataset=r.json()["id"], epochs=400, batch_size=2,
                    register={"model_name": "iris-survivor"})
        job = self.s.call("POST", "/api/v1/training/jobs", self.admin, spec).json()
        first = self.worker()
        deadline = time.time() + 60
        while self.s.call("GET", "/api/v1/training/jobs/" + job["id"], self.admin).json()["epoch"] < 3:
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = self.s.call("GET", "/api/v1/training/jobs/" + job["id"], self.admin).json()
        self.assertEqual(killed_at["status"], "running")
        self.worker()
        deadline = time.time() + 240
        while True:
            j = self.s.call("GET", "/api/v1/training/jobs/" + job["id"], self.admin).json()
            if j["status"] in ("succeeded", "failed", "cancelled"):
                break
            self.assertLess(time.time(), deadline, j)
            time.sleep(0.2)
        self.assertEqual(j["status"], "succeeded", j)
        self.assertEqual(j["attempts"], 2)
        logs = self.s.call("GET", "/api/v1/training/jobs/%s/logs" % job["id"], self.admin).json()["items"]
        self.assertTrue(any("picked up again" in l["message"] for l in logs))
        self.assertTrue(any("continuing from the checkpoint" in l["message"] for l in logs))


if __name__ == "__main__":
    unittest.main()
