"""`c19ai worker`: an API replica with workers.embedded=false queues batch predictions and a separate
worker process (same database and storage) runs them; SIGTERM stops the worker cleanly."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import BIN, TEST_ARGS, Server
from test_registry import multipart

HERE = os.path.dirname(os.path.abspath(__file__))


class Worker(unittest.TestCase):
    def setUp(self):
        self.art = tempfile.mkdtemp(prefix="c19ai-art-")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "../ml/make_artifacts.py"), self.art], check=True)
        with open(os.path.join(self.art, "expected.json")) as f:
            self.expected = json.load(f)
        self.s = Server(args=["--set", "workers.embedded=false"])
        self.admin = self.s.login()
        self.worker = None

    def tearDown(self):
        if self.worker and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait()
        self.s.stop()
        shutil.rmtree(self.art, ignore_errors=True)

    def start_worker(self):
        cmd = [BIN, "worker", "--data-dir", self.s.dir] + TEST_ARGS
        if self.s.database_url:
            cmd += ["--database", self.s.database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("C19AI_")}
        self.worker_log = open(os.path.join(self.s.dir, "worker.log"), "wb")
        self.worker = subprocess.Popen(cmd, cwd=self.s.dir, stdout=self.worker_log, stderr=subprocess.STDOUT, env=env)

    def test_a_separate_worker_runs_batch_predictions(self):
        call = self.s.call
        self.assertEqual(call("POST", "/api/v1/models", self.admin,
                              {"name": "churn", "framework": "xgboost", "model_type": "classification"}).status, 201)
        with open(os.path.join(self.art, "multi.json"), "rb") as fh:
            body, ctype = multipart([("artifact", "multi.json", "application/octet-stream", fh.read())])
        self.assertEqual(call("POST", "/api/v1/models/churn/versions", self.admin, body,
                              {"Content-Type": ctype}).status, 201)
        rows = self.expected["xgboost_multi"]["inputs"]
        r = call("PUT", "/api/v1/files/w/rows.jsonl", self.admin, "\n".join(json.dumps(x) for x in rows).encode())
        self.assertEqual(r.status, 201, r.body)
        r = call("POST", "/api/v1/models/churn/batch-predictions", self.admin, {"file": "w/rows.jsonl", "version": "1"})
        self.assertEqual(r.status, 202, r.body)
        job = r.json()["id"]
        time.sleep(1.5)  # the API replica runs no jobs
        self.assertEqual(call("GET", "/api/v1/batch-predictions/" + job, self.admin).json()["status"], "queued")
        self.start_worker()
        deadline = time.time() + 60
        while True:
            j = call("GET", "/api/v1/batch-predictions/" + job, self.admin).json()
            if j["status"] not in ("queued", "running"):
                break
            self.assertLess(time.time(), deadline, "the worker did not run the job")
            self.assertIsNone(self.worker.poll(), "the worker exited")
            time.sleep(0.1)
        self.assertEqual((j["status"], j["rows_done"]), ("succeeded", len(rows)), j)
        out = call("GET", "/api/v1/batch-predictions/%s/result" % job, self.admin).body.decode().splitlines()
        self.assertEqual(len(out), len(rows))
        self.worker.send_signal(signal.SIGTERM)
        self.assertEqual(self.worker.wait(20), 0)


if __name__ == "__main__":
    unittest.main()
