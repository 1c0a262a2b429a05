"""Experiments and hyper-parameter sweeps on the real binary: a grid sweep over iris whose best trial
is registered, run filters and side-by-side comparison, the median stopping rule pruning a trial that
cannot learn, archiving, field-level errors, registering a finished job later, and the CLI."""
import json
import os
import time
import unittest

from harness import Server, run_cli
from test_training import IRIS_SPEC, sklearn_csv

BASE = dict(IRIS_SPEC, epochs=8, checkpoint={"every_epochs": 0, "keep_last": 1})
BASE.pop("name")
BASE.pop("scheduler")


class Sweeps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.admin = cls.s.login()
        r = cls.s.call("POST", "/api/v1/datasets?name=iris", cls.admin, sklearn_csv("load_iris"),
                       {"Content-Type": "text/csv"})
        assert r.status == 201, r.body
        cls.iris = r.json()["id"]

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def sweep(self, body, expect=202):
        r = self.s.call("POST", "/api/v1/training/sweeps", self.admin, body)
        self.assertEqual(r.status, expect, r.body)
        return r.json()

    def wait_sweep(self, sweep_id, timeout=240):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.s.call("GET", "/api/v1/training/sweeps/" + sweep_id, self.admin).json()
            if s["status"] not in ("running", "finishing"):
                return s
            time.sleep(0.2)
        self.fail("sweep %s did not end: %s" % (sweep_id, s))

    def test_grid_sweep_compare_filter_and_register_the_best(self):
        s = self.sweep({
            "name": "iris-grid", "experiment": "grid",
            "base": dict(BASE, dataset=self.iris),
            "search": {"method": "grid", "parameters": {"optimizer.lr": [0.0005, 0.05],
                                                         "model.params.hidden": [[4], [32, 32]]}},
            "parallelism": 2, "objective": {"metric": "accuracy", "direction": "maximize"},
            "register": {"model_name": "iris-best"}})
        self.assertEqual(s["max_trials"], 4)
        # The last parameter (in name order) varies fastest.
        self.assertEqual([t["params"] for t in s["trials"]], [
            {"model.params.hidden": [4], "optimizer.lr": 0.0005}, {"model.params.hidden": [4], "optimizer.lr": 0.05},
            {"model.params.hidden": [32, 32], "optimizer.lr": 0.0005},
            {"model.params.hidden": [32, 32], "optimizer.lr": 0.05}])
        launched = [t for t in s["trials"] if t["status"] in ("running", "launching")]
        self.assertLessEqual(len(launched), 2)
        done = self.wait_sweep(s["id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual([t["status"] for t in done["trials"]], ["succeeded"] * 4)
        values = [t["value"] for t in done["trials"]]
        best = max(range(4), key=lambda i: values[i])
        self.assertEqual(done["best"]["trial"], done["trials"][best]["trial"])
        self.assertEqual(done["best"]["value"], values[best])
        self.assertTrue(done["trials"][best]["best"])
        self.assertGreaterEqual(values[best], 0.9)
        # Each trial's value is the best accuracy over its epochs.
        job = done["trials"][best]["job_id"]
        metrics = self.s.call("GET", "/api/v1/training/jobs/%s/metrics" % job, self.admin).json()["items"]
        self.assertEqual(values[best], max(m["metrics"]["accuracy"] for m in metrics))
        # The best trial is registered, with its job as lineage.
        self.assertEqual(done["model"], {"name": "iris-best", "version": 1})
        v = self.s.call("GET", "/api/v1/models/iris-best/versions/1", self.admin).json()
        self.assertEqual(v["lineage"]["job_id"], job)
        self.assertEqual(self.s.call("GET", "/api/v1/models/iris-best/versions/2", self.admin).status, 404)

        # The experiment: counts, best run, filters, ranking.
        exps = self.s.call("GET", "/api/v1/experiments", self.admin).json()["items"]
        grid = next(e for e in exps if e["name"] == "grid")
        self.assertEqual((grid["runs"], grid["by_status"], grid["metric"]), (4, {"succeeded": 4}, "accuracy"))
        self.assertEqual(grid["best"], {"job_id": job, "value": values[best]})
        runs = self.s.call("GET", "/api/v1/experiments/grid?param.optimizer.lr=0.05", self.admin).json()["items"]
        self.assertEqual(len(runs), 2)
        self.assertTrue(all(r["spec"]["optimizer"]["lr"] == 0.05 for r in runs))
        runs = self.s.call("GET", "/api/v1/experiments/grid?tag.sweep=%s&sort=accuracy&order=desc" % s["id"],
                           self.admin).json()["items"]
        self.assertEqual([r["best"]["metrics"]["accuracy"] for r in runs], sorted(values, reverse=True))
        threshold = sorted(values)[1] + 1e-9
        runs = self.s.call("GET", "/api/v1/experiments/grid?min.accuracy=%r" % threshold, self.admin).json()["items"]
        self.assertEqual(len(runs), sum(1 for x in values if x >= threshold))
        r = self.s.call("GET", "/api/v1/experiments/grid?min.accuracy=high", self.admin)
        self.assertEqual((r.status, r.json()["error"]["details"]["field"]), (400, "min.accuracy"))
        r = self.s.call("GET", "/api/v1/experiments/grid?colour=red", self.admin)
        self.assertEqual((r.status, r.json()["error"]["details"]["field"]), (400, "colour"))
        self.assertEqual(self.s.call("GET", "/api/v1/experiments/nope", self.admin).status, 404)

        # Compare two runs: the params that differ, best and final metrics, curves on the epoch axis.
        a, b = done["trials"][0]["job_id"], done["trials"][3]["job_id"]
        cmp = self.s.call("GET", "/api/v1/experiments/grid/compare?jobs=%s,%s" % (a, b), self.admin).json()
        self.assertEqual([r["id"] for r in cmp["runs"]], [a, b])
        self.assertIn("optimizer.lr", cmp["differing_params"])
        self.assertIn("model.params.hidden", cmp["differing_params"])
        self.assertNotIn("batch_size", cmp["differing_params"])
        self.assertEqual(cmp["epochs"], list(range(1, 9)))
        self.assertEqual(len(cmp["curves"]["accuracy"][a]), 8)
        self.assertEqual(cmp["curves"]["val_loss"][b][-1], cmp["runs"][1]["final_metrics"]["val_loss"])
        for q, field in [("jobs=" + a, "jobs"), ("jobs=%s,nope" % a, "jobs"), ("", "jobs")]:
            r = self.s.call("GET", "/api/v1/experiments/grid/compare?" + q, self.admin)
            self.assertEqual((r.status, r.json()["error"]["details"]["field"]), (400, field), q)

    def test_median_stopping_prunes_a_trial_that_cannot_learn(self):
        # One at a time: three trials that learn, then one whose learning rate is far too small.
        s = self.sweep({
            "name": "prune", "experiment": "prune",
            "base": dict(BASE, dataset=self.iris, epochs=12, optimizer={"type": "sgd", "lr": 0.1, "momentum": 0.9}),
            "search": {"method": "grid", "parameters": {"optimizer.lr": [0.1, 0.08, 0.06, 1e-7]}},
            "parallelism": 1, "early_termination": {"policy": "median", "grace_epochs": 3, "min_trials": 3}})
        done = self.wait_sweep(s["id"])
        self.assertEqual(done["status"], "succeeded", done)
        statuses = [t["status"] for t in done["trials"]]
        self.assertEqual(statuses[3], "pruned", done["trials"])
        pruned = self.s.call("GET", "/api/v1/training/jobs/" + done["trials"][3]["job_id"], self.admin).json()
        self.assertEqual(pruned["status"], "cancelled")
        self.assertIn("median stopping rule", pruned["error"])
        self.assertLess(pruned["epoch"], 12)
        self.assertNotEqual(done["best"]["trial"], 4)

    def test_random_search_is_seeded_and_ranges_are_respected(self):
        body = {"name": "rnd", "experiment": "random", "base": dict(BASE, dataset=self.iris, epochs=2),
                "search": {"method": "random", "parameters": {
                    "optimizer.lr": {"min": 1e-4, "max": 1e-1, "scale": "log"},
                    "batch_size": {"min": 8, "max": 64, "type": "int"},
                    "optimizer.type": ["adam", "sgd"]}},
                "max_trials": 3, "parallelism": 3, "seed": 11}
        first = self.sweep(body)
        second = self.sweep(body)
        self.assertEqual([t["params"] for t in first["trials"]], [t["params"] for t in second["trials"]])
        for t in first["trials"]:
            self.assertTrue(1e-4 <= t["params"]["optimizer.lr"] <= 1e-1)
            self.assertTrue(8 <= t["params"]["batch_size"] <= 64 and isinstance(t["params"]["batch_size"], int))
        cancelled = self.s.call("POST", "/api/v1/training/sweeps/%s/cancel" % second["id"], self.admin).json()
        self.assertEqual(cancelled["status"], "cancelled")
        self.assertEqual(self.s.call("POST", "/api/v1/training/sweeps/%s/cancel" % second["id"], self.admin).status, 412)
        self.assertEqual(self.wait_sweep(first["id"])["status"], "succeeded")
        listed = self.s.call("GET", "/api/v1/training/sweeps", self.admin).json()["items"]
        self.assertIn(first["id"], [x["id"] for x in listed])

    def test_sweep_specs_are_checked_field_by_field(self):
        base = dict(BASE, dataset=self.iris)
        grid = {"method": "grid", "parameters": {"optimizer.lr": [0.01]}}
        cases = [
            ({"search": grid}, "base"),
            ({"base": base}, "search"),
            ({"base": dict(base, epochs=0), "search": grid}, "base.epochs"),
            ({"base": base, "search": {"method": "bayes", "parameters": {"optimizer.lr": [0.1]}}}, "search.method"),
            ({"base": base, "search": {"method": "grid", "parameters": {"dataset": ["x"]}}}, "search.parameters.dataset"),
            ({"base": base, "search": {"method": "grid", "parameters": {"optimizer.lr": [-1]}}},
             "search.parameters.optimizer.lr"),
            ({"base": base, "search": {"method": "grid", "parameters": {"optimizer.lr": {"min": 0.1, "max": 1}}}},
             "search.parameters.optimizer.lr"),
            ({"base": base, "search": {"method": "random", "parameters": {
                "optimizer.lr": {"min": 0, "max": 1, "scale": "log"}}}}, "search.parameters.optimizer.lr.min"),
            ({"base": base, "search": grid, "objective": {"metric": "r2"}}, "objective.metric"),
            ({"base": base, "search": grid, "objective": {"direction": "up"}}, "objective.direction"),
            ({"base": base, "search": grid, "parallelism": 0}, "parallelism"),
            ({"base": base, "search": grid, "early_termination": {"policy": "hyperband"}}, "early_termination.policy"),
            ({"base_job": "nope", "search": grid}, "base_job"),
        ]
        for body, field in cases:
            r = self.s.call("POST", "/api/v1/training/sweeps", self.admin, body)
            self.assertEqual(r.status, 400, (field, r.body))
            self.assertEqual(r.json()["error"]["details"]["field"], field, r.body)
        self.assertEqual(self.s.call("GET", "/api/v1/training/sweeps/nope", self.admin).status, 404)

    def test_archive_register_later_and_cli(self):
        env = {"C19AI_URL": "http://127.0.0.1:%d" % self.s.port, "C19AI_TOKEN": self.admin}
        job = self.s.call("POST", "/api/v1/training/jobs", self.admin,
                          dict(BASE, dataset=self.iris, experiment="cli-exp", epochs=3)).json()
        deadline = time.time() + 60
        while self.s.call("GET", "/api/v1/training/jobs/" + job["id"], self.admin).json()["status"] != "succeeded":
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)
        # Register the finished job's model afterwards.
        r = self.s.call("POST", "/api/v1/training/jobs/%s/register" % job["id"], self.admin, {"model_name": "later"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["model"], {"name": "later", "version": 1})
        r = self.s.call("POST", "/api/v1/training/jobs/%s/register" % job["id"], self.admin, {})
        self.assertEqual((r.status, r.json()["error"]["details"]["field"]), (400, "model_name"))
        # A sweep from the job (base_job) through the CLI.
        path = os.path.join(self.s.dir, "sweep.json")
        with open(path, "w") as f:
            json.dump({"name": "cli", "base_job": job["id"], "parallelism": 2,
                       "search": {"method": "grid", "parameters": {"optimizer.lr": [0.01, 0.05]}}}, f)
        r = run_cli("sweep", "submit", path, "--follow", env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("<- best", r.stdout)
        sweep_id = r.stdout.split()[0]
        r = run_cli("sweep", "show", sweep_id, "--json", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = json.loads(r.stdout)
        self.assertEqual((shown["status"], shown["experiment"]), ("succeeded", "cli-exp"))
        r = run_cli("experiment", "list", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cli-exp", r.stdout)
        jobs = [t["job_id"] for t in shown["trials"]]
        r = run_cli("experiment", "compare", "cli-exp", *jobs, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("optimizer.lr", r.stdout)
        self.assertIn("best accuracy", r.stdout)
        # Archive: hidden, closed to new runs; unarchive brings it back.
        r = self.s.call("POST", "/api/v1/experiments/cli-exp/archive", self.admin)
        self.assertEqual((r.status, r.json()["archived"]), (200, True))
        names = [e["name"] for e in self.s.call("GET", "/api/v1/experiments", self.admin).json()["items"]]
        self.assertNotIn("cli-exp", names)
        names = [e["name"] for e in self.s.call("GET", "/api/v1/experiments?archived=true", self.admin).json()["items"]]
        self.assertIn("cli-exp", names)
        r = self.s.call("POST", "/api/v1/training/jobs", self.admin, dict(BASE, dataset=self.iris, experiment="cli-exp"))
        self.assertEqual(r.status, 412, r.body)
        self.assertIn("archived", r.json()["error"]["message"])
        r = self.s.call("POST", "/api/v1/experiments/cli-exp/unarchive", self.admin)
        self.assertEqual((r.status, r.json()["archived"]), (200, False))
        self.assertEqual(self.s.call("POST", "/api/v1/experiments/nope/archive", self.admin).status, 404)


if __name__ == "__main__":
    unittest.main()
