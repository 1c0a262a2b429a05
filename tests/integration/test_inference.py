"""Inference over HTTP on the real binary: native predict and the Open Inference Protocol with real
TorchScript and XGBoost models, deployments, queue limits and deadlines, hot swap under load."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Server, run_cli
from test_registry import SIGNATURE, multipart

HERE = os.path.dirname(os.path.abspath(__file__))


class Inference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.art = tempfile.mkdtemp(prefix="c19ai-art-")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "../ml/make_artifacts.py"), cls.art], check=True)
        with open(os.path.join(cls.art, "expected.json")) as f:
            cls.expected = json.load(f)
        cls.s = Server()
        cls.admin = cls.s.login()
        cls.register("iris", "torchscript", ["mlp.pt", "mlp2.pt"], {"signature": SIGNATURE})
        cls.register("churn", "xgboost", ["multi.json"], None)
        for name in ("iris", "churn"):
            r = cls.s.call("POST", "/api/v1/models/%s/versions/1/stage" % name, cls.admin, {"stage": "production"})
            assert r.status == 200, r.body

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        shutil.rmtree(cls.art, ignore_errors=True)

    @classmethod
    def register(cls, name, framework, files, metadata):
        r = cls.s.call("POST", "/api/v1/models", cls.admin, {"name": name, "framework": framework,
                                                             "model_type": "classification"})
        assert r.status == 201, r.body
        for f in files:
            with open(os.path.join(cls.art, f), "rb") as fh:
                parts = [("artifact", f, "application/octet-stream", fh.read())]
            if metadata:
                parts.append(("metadata", None, "application/json", json.dumps(metadata).encode()))
            body, ctype = multipart(parts)
            r = cls.s.call("POST", "/api/v1/models/%s/versions" % name, cls.admin, body, {"Content-Type": ctype})
            assert r.status == 201, r.body

    def predict(self, name, body, version=None, token=None):
        path = "/api/v1/models/%s/%spredict" % (name, "versions/%s/" % version if version else "")
        return self.s.call("POST", path, token or self.admin, body)

    def assertClose(self, got, want, tol=1e-4):
        self.assertEqual(len(got), len(want))
        for a, b in zip(got, want):
            if isinstance(a, list):
                self.assertClose(a, b, tol)
            else:
                self.assertAlmostEqual(a, b, delta=tol)

    def test_native_predict_matches_pytorch_and_xgboost(self):
        rows = self.expected["torchscript"]["inputs"]
        r = self.predict("iris", {"inputs": rows})
        self.assertEqual(r.status, 200, r.body)
        body = r.json()
        self.assertClose(body["outputs"], self.expected["torchscript"]["outputs"])
        self.assertEqual((body["model"], body["version"], body["cached"]), ("iris", 1, False))
        self.assertGreater(body["latency_ms"], 0)
        r = self.predict("iris", {"inputs": rows[0]})  # one flat row
        self.assertClose(r.json()["outputs"], self.expected["torchscript"]["outputs"][:1])
        r = self.predict("iris", {"inputs": rows}, version=2)
        self.assertClose(r.json()["outputs"], self.expected["torchscript2"]["outputs"])
        r = self.predict("churn", {"inputs": self.expected["xgboost_multi"]["inputs"]})
        self.assertEqual(r.status, 200, r.body)
        self.assertClose(r.json()["outputs"], self.expected["xgboost_multi"]["outputs"], 1e-5)

    def test_bad_requests_are_400_naming_the_problem(self):
        for body, needle in (({"inputs": [[1, 2]]}, "[4]"), ({"inputs": [[1, 2, 3, "x"]]}, "number"),
                             ({"rows": []}, "inputs"), ({"inputs": [[1, 2, 3, 4]], "priority": "urgent"}, "priority")):
            r = self.predict("iris", body)
            self.assertEqual(r.status, 400, r.body)
            self.assertIn(needle, r.json()["error"]["message"])
        r = self.s.call("POST", "/api/v1/models/iris/predict", self.admin, b"{nope", {"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.predict("nope", {"inputs": [[1, 2, 3, 4]]}).status, 404)
        self.assertEqual(self.predict("iris", {"inputs": [[1, 2, 3, 4]]}, version=9).status, 404)
        self.assertEqual(self.s.call("POST", "/api/v1/models/iris/predict", None, {"inputs": [[1, 2, 3, 4]]}).status, 401)

    def test_v2_protocol(self):
        self.assertEqual(self.s.request("GET", "/v2/health/live").status, 200)
        self.assertEqual(self.s.request("GET", "/v2/health/ready").status, 200)
        meta = self.s.call("GET", "/v2", self.admin).json()
        self.assertEqual(meta["name"], "c19ai")
        self.assertIn("model_repository", meta["extensions"])
        m = self.s.call("GET", "/v2/models/iris", self.admin)
        self.assertEqual(m.status, 200, m.body)
        self.assertEqual(m.json()["inputs"], [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}])
        self.assertEqual(m.json()["platform"], "pytorch_libtorch")
        self.assertEqual(self.s.call("GET", "/v2/models/iris/ready", self.admin).status, 200)
        self.assertEqual(self.s.call("GET", "/v2/models/iris/versions/9/ready", self.admin).status, 400)
        rows = self.expected["torchscript"]["inputs"]
        req = {"id": "42", "inputs": [{"name": "input", "shape": [3, 4], "datatype": "FP32", "data": rows}],
               "outputs": [{"name": "output"}]}
        r = self.s.call("POST", "/v2/models/iris/infer", self.admin, req)
        self.assertEqual(r.status, 200, r.body)
        out = r.json()
        self.assertEqual((out["model_name"], out["model_version"], out["id"]), ("iris", "1", "42"))
        self.assertEqual(out["outputs"][0]["shape"], [3, 3])
        self.assertEqual(out["outputs"][0]["datatype"], "FP32")
        flat = [v for row in self.expected["torchscript"]["outputs"] for v in row]
        self.assertClose(out["outputs"][0]["data"], flat)
        r = self.s.call("POST", "/v2/models/iris/versions/2/infer", self.admin, req)
        self.assertEqual(r.json()["model_version"], "2")
        # Errors in the protocol's format.
        bad = dict(req, inputs=[dict(req["inputs"][0], datatype="FP64")])
        r = self.s.call("POST", "/v2/models/iris/infer", self.admin, bad)
        self.assertEqual(r.status, 400)
        self.assertIn("expects FP32", r.json()["error"])
        r = self.s.call("POST", "/v2/models/nope/infer", self.admin, req)
        self.assertEqual(r.status, 404)
        self.assertIsInstance(r.json()["error"], str)
        index = self.s.call("POST", "/v2/repository/index", self.admin, {}).json()
        names = {e["name"]: e for e in index}
        self.assertEqual(names["iris"]["state"], "READY")
        self.assertEqual(self.s.call("POST", "/v2/repository/models/churn/unload", self.admin).status, 200)
        self.assertEqual(self.s.call("POST", "/v2/repository/models/churn/load", self.admin).status, 200)
        self.assertEqual(self.s.call("POST", "/v2/repository/models/churn/unload", self.admin).status, 200)
        self.assertEqual(self.s.call("POST", "/v2/repository/models/nope/unload", self.admin).status, 404)

    def wait_batch(self, job_id, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            j = self.s.call("GET", "/api/v1/batch-predictions/" + job_id, self.admin).json()
            if j["status"] in ("succeeded", "failed", "cancelled"):
                return j
            time.sleep(0.1)
        self.fail("batch prediction %s did not finish: %s" % (job_id, j))

    def put_file(self, key, data):
        r = self.s.call("PUT", "/api/v1/files/" + key, self.admin, data, {"Content-Type": "text/plain"})
        self.assertIn(r.status, (200, 201), r.body)

    def test_batch_prediction_over_a_csv_file(self):
        rows = self.expected["torchscript"]["inputs"]
        lines = ["id,a,b,c,d"]
        for i in range(300):
            for k, row in enumerate(rows):
                lines.append("r%d-%d,%s" % (i, k, ",".join(repr(v) for v in row)))
        # RFC 4180: a quoted id with a delimiter, a doubled quote and a line break; CRLF line ends.
        lines.append('"odd, ""one""\nline",%s' % ",".join(repr(v) for v in rows[0]))
        lines.append("bad,1,2,three,4")
        self.put_file("batch/iris.csv", ("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
        r = self.s.call("POST", "/api/v1/models/iris/batch-predictions", self.admin,
                        {"file": "batch/iris.csv", "id_column": "id", "chunk_rows": 64})
        self.assertEqual(r.status, 202, r.body)
        job = r.json()
        self.assertEqual((job["status"], job["input"]["object"], job["input"]["format"]),
                         ("queued", "files/batch/iris.csv", "csv"))
        self.assertEqual(r.headers["location"], "/api/v1/batch-predictions/" + job["id"])
        done = self.wait_batch(job["id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual((done["rows_done"], done["rows_failed"], done["version"]), (902, 1, 1))
        self.assertEqual(done["bytes_done"], done["bytes_total"])
        self.assertEqual(done["progress"], 1.0)
        res = self.s.call("GET", "/api/v1/batch-predictions/%s/result" % job["id"], self.admin)
        self.assertEqual(res.status, 200)
        self.assertEqual(res.headers["content-type"], "application/x-ndjson")
        out = [json.loads(l) for l in res.body.decode().splitlines()]
        self.assertEqual(len(out), 902)
        self.assertEqual([o["row"] for o in out], list(range(1, 903)))
        want = self.expected["torchscript"]["outputs"]
        for o in out[:900]:
            i, k = (int(x) for x in o["id"][1:].split("-"))
            self.assertClose(o["output"], want[k])
        self.assertEqual(out[900]["id"], 'odd, "one"\nline')
        self.assertClose(out[900]["output"], want[0])
        self.assertEqual(out[901]["id"], "bad")
        self.assertIn("error", out[901])
        self.assertNotIn("output", out[901])
        # The result is an object in storage with its hash.
        self.assertEqual(done["result"]["object"], "results/batch-predictions/%s.jsonl" % job["id"])
        self.assertEqual(done["result"]["size"], len(res.body))
        listed = self.s.call("GET", "/api/v1/batch-predictions?model=iris", self.admin).json()["items"]
        self.assertIn(job["id"], [j["id"] for j in listed])
        r = self.s.call("POST", "/api/v1/batch-predictions/%s:cancel" % job["id"], self.admin)
        self.assertEqual(r.status, 412, r.body)

    def test_batch_prediction_over_json_lines_with_too_many_bad_rows(self):
        rows = self.expected["xgboost_multi"]["inputs"]
        self.put_file("batch/churn.jsonl", "\n".join(json.dumps(r) for r in rows * 50).encode())
        r = self.s.call("POST", "/api/v1/models/churn/batch-predictions", self.admin, {"file": "batch/churn.jsonl"})
        self.assertEqual(r.status, 202, r.body)
        done = self.wait_batch(r.json()["id"])
        self.assertEqual(done["status"], "succeeded", done)
        out = [json.loads(l) for l in self.s.call("GET", "/api/v1/batch-predictions/%s/result" % done["id"],
                                                   self.admin).body.decode().splitlines()]
        self.assertEqual(len(out), len(rows) * 50)
        self.assertClose(out[1]["output"], self.expected["xgboost_multi"]["outputs"][1])
        # More refused rows than allowed: the job fails, names the row, and leaves no result.
        self.put_file("batch/bad.jsonl", b'[1, 2]\n[3, 4]\n[5, 6]\n')
        r = self.s.call("POST", "/api/v1/models/churn/batch-predictions", self.admin,
                        {"file": "batch/bad.jsonl", "max_failed_rows": 1})
        done = self.wait_batch(r.json()["id"])
        self.assertEqual(done["status"], "failed")
        self.assertIn("row 2", done["error"])
        r = self.s.call("GET", "/api/v1/batch-predictions/%s/result" % done["id"], self.admin)
        self.assertEqual(r.status, 412)

    def test_batch_prediction_over_a_dataset_version(self):
        rows = self.expected["xgboost_multi"]["inputs"]
        n = len(rows[0])
        # A semicolon-separated dataset: the job reads it with the dataset's own delimiter.
        csv = "\n".join([";".join("f%d" % i for i in range(n))] + [";".join(repr(v) for v in r) for r in rows])
        r = self.s.call("POST", "/api/v1/datasets?name=scoring&delimiter=%3B", self.admin, csv.encode(),
                        {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 201, r.body)
        r = self.s.call("POST", "/api/v1/models/churn/batch-predictions", self.admin,
                        {"dataset": "scoring", "dataset_version": 1})
        self.assertEqual(r.status, 202, r.body)
        self.assertTrue(r.json()["input"]["object"].startswith("datasets/"))
        done = self.wait_batch(r.json()["id"])
        self.assertEqual((done["status"], done["rows_done"]), ("succeeded", len(rows)), done)
        out = [json.loads(l) for l in self.s.call("GET", "/api/v1/batch-predictions/%s/result" % done["id"],
                                                   self.admin).body.decode().splitlines()]
        for o, want in zip(out, self.expected["xgboost_multi"]["outputs"]):
            self.assertClose(o["output"], want)
        r = self.s.call("POST", "/api/v1/models/churn/batch-predictions", self.admin,
                        {"dataset": "scoring", "dataset_version": 9})
        self.assertEqual(r.status, 404, r.body)

    def test_batch_prediction_cancel_stops_a_running_job(self):
        row = ",".join(repr(v) for v in self.expected["torchscript"]["inputs"][0])
        self.put_file("batch/long.csv", ("a,b,c,d\n" + (row + "\n") * 200000).encode())
        r = self.s.call("POST", "/api/v1/models/iris/batch-predictions", self.admin,
                        {"file": "batch/long.csv", "chunk_rows": 1})
        job = r.json()
        deadline = time.time() + 30
        while self.s.call("GET", "/api/v1/batch-predictions/" + job["id"], self.admin).json()["rows_done"] == 0:
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        r = self.s.call("POST", "/api/v1/batch-predictions/%s:cancel" % job["id"], self.admin)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["cancel_requested"])
        t0 = time.time()
        done = self.wait_batch(job["id"])
        self.assertEqual(done["status"], "cancelled")
        self.assertLess(time.time() - t0, 5)
        self.assertLess(done["rows_done"], 200000)
        self.assertEqual(self.s.call("GET", "/api/v1/batch-predictions/%s/result" % job["id"], self.admin).status, 412)

    def test_batch_prediction_requests_are_checked(self):
        def submit(body, model="iris"):
            return self.s.call("POST", "/api/v1/models/%s/batch-predictions" % model, self.admin, body)
        self.put_file("batch/x.txt", b"a,b\n1,2\n")
        cases = [({}, "input"), ({"file": "batch/x.txt"}, "format"), ({"file": "a", "dataset": "b"}, "input"),
                 ({"file": "batch/x.txt", "format": "xml"}, "format"), ({"file": "x.csv", "chunk_rows": 0}, "chunk_rows"),
                 ({"file": "x.csv", "delimiter": ";;"}, "delimiter"), ({"file": "x.csv", "colour": 1}, "colour")]
        for body, field in cases:
            r = submit(body)
            self.assertEqual(r.status, 400, (body, r.body))
            self.assertEqual(r.json()["error"]["details"]["field"], field, (body, r.body))
        self.assertEqual(submit({"file": "batch/none.csv"}).status, 404)
        self.assertEqual(submit({"file": "batch/x.txt", "format": "csv"}, model="nope").status, 404)
        self.assertEqual(self.s.call("GET", "/api/v1/batch-predictions/nope", self.admin).status, 404)

    def test_deployments_queue_limits_and_deadlines(self):
        r = self.s.call("POST", "/api/v1/models/iris/deploy", self.admin,
                        {"stage": "production", "instances": 1,
                         "batching": {"max_batch_size": 8, "max_queue_delay_us": 0, "max_queue_size": 4},
                         "result_cache": {"enabled": True, "ttl_s": 60}})
        self.assertEqual(r.status, 200, r.body)
        d = r.json()
        self.assertTrue(d["explicit"])
        self.assertEqual(d["served_version"], 1)
        self.assertEqual(d["versions"][0]["state"], "ready")
        body = {"inputs": [[0.5, 0.5, 0.5, 0.5]]}
        self.assertFalse(self.predict("iris", body).json()["cached"])
        self.assertTrue(self.predict("iris", body).json()["cached"])
        listing = self.s.call("GET", "/api/v1/deployments", self.admin).json()
        self.assertIn("iris", [x["model"] for x in listing["items"]])
        self.assertGreater(listing["loaded_bytes"], 0)
        # A request whose deadline cannot be met: 504 or answered in time, never an error otherwise.
        r = self.predict("iris", {"inputs": [[1, 2, 3, 4]], "timeout_ms": 1})
        self.assertIn(r.status, (200, 504))
        bad = self.s.call("POST", "/api/v1/models/iris/deploy", self.admin, {"batching": {"max_batch_size": 0}})
        self.assertEqual((bad.status, bad.json()["error"]["details"]["field"]), (400, "batching.max_batch_size"))
        self.assertEqual(self.s.call("POST", "/api/v1/models/iris/deploy", self.admin, {"alias": "ghost"}).status, 404)
        self.assertEqual(self.s.call("DELETE", "/api/v1/deployments/iris", self.admin).status, 204)
        self.assertEqual(self.predict("iris", body).status, 200)  # served on demand again

    def test_hot_swap_under_load_fails_no_request(self):
        stop = threading.Event()
        failures, answers = [], []

        def client():
            while not stop.is_set():
                r = self.predict("iris", {"inputs": [[5.1, 3.5, 1.4, 0.2]]})
                if r.status != 200:
                    failures.append((r.status, r.body[:200]))
                else:
                    answers.append(r.json()["version"])

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(6):
                version = 2 if i % 2 == 0 else 1
                r = self.s.call("POST", "/api/v1/models/iris/versions/%d/stage" % version, self.admin,
                                {"stage": "production"})
                self.assertEqual(r.status, 200, r.body)
                r = self.predict("iris", {"inputs": [[5.1, 3.5, 1.4, 0.2]]})
                self.assertEqual((r.status, r.json()["version"]), (200, version))
                time.sleep(0.2)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertEqual(set(answers), {1, 2})

    def test_permissions_and_cli(self):
        r = self.s.call("POST", "/api/v1/users", self.admin, {"username": "vic", "email": "vic@example.com",
                                                              "password": "Viewer-pass-2026!", "roles": ["viewer"]})
        self.assertEqual(r.status, 201, r.body)
        viewer = self.s.login("vic", "Viewer-pass-2026!")
        self.assertEqual(self.predict("iris", {"inputs": [[1, 2, 3, 4]]}, token=viewer).status, 403)
        self.assertEqual(self.s.call("GET", "/v2/models/iris", viewer).status, 200)
        self.assertEqual(self.s.call("POST", "/api/v1/models/iris/deploy", viewer, {}).status, 403)

        env = {"C19AI_URL": "http://127.0.0.1:%d" % self.s.port, "C19AI_TOKEN": self.admin}
        rows = os.path.join(self.art, "rows.json")
        with open(rows, "w") as f:
            json.dump([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], f)
        r = run_cli("predict", "iris", "--input", rows, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["outputs"]), 2)
        csv = os.path.join(self.art, "rows.csv")
        with open(csv, "w") as f:
            f.write("a,b,c,d\n5.1,3.5,1.4,0.2\n")
        r = run_cli("predict", "iris", "--input", csv, "--version", "2", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["version"], 2)
        r = run_cli("model", "deploy", "churn", "--max-batch-size", "16", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli("model", "deployments", env=env)
        self.assertIn("churn", r.stdout)
        r = run_cli("model", "undeploy", "churn", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli("predict", "iris", "--input", rows, env=dict(env, C19AI_TOKEN=viewer))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("permission", r.stderr)


if __name__ == "__main__":
    unittest.main()
