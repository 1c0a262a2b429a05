"""Text generation on the real binary: a text written by a small seeded grammar is uploaded as a
dataset, a char_rnn and a char_transformer are trained on it (the loss falls, the registered version
carries val_loss and perplexity), and POST /api/v1/models/{name}/generate continues prompts —
max_tokens characters, the same text for the same seed, field-level 400s, 412 for a model that does
not generate, 403 without inference:predict."""
import json
import math
import random
import time
import unittest

from harness import Server

SUBJECTS = ["the cat", "the dog", "a bird", "the old man", "my sister", "the farmer", "a small child"]
VERBS = ["sees", "likes", "follows", "finds", "feeds", "paints", "carries"]
OBJECTS = ["the ball", "a red apple", "the river", "an old boat", "the garden", "a green hat", "the moon"]
ENDINGS = [".", " today.", " at night.", " in the rain.", " again."]


def grammar_text(lines=400, seed=11):
    """Sentences of a tiny grammar: a learnable, public-domain-by-construction text."""
    rng = random.Random(seed)
    return ["%s %s %s%s" % (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(ENDINGS))
            for _ in range(lines)]


def rnn_spec(dataset, model_name, **over):
    spec = {
        "name": "charlm", "experiment": "generation", "dataset": dataset, "target": "text",
        "model": {"model_type": "generation", "framework": "torch", "architecture": "char_rnn",
                  "params": {"hidden": 96, "layers": 1, "seq_len": 48, "embedding_dim": 32}},
        "optimizer": {"type": "adam", "lr": 0.01}, "epochs": 6, "batch_size": 16, "seed": 3,
        "validation": {"split": 0.1}, "register": {"model_name": model_name},
    }
    spec.update(over)
    return spec


class Generation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.admin = cls.s.login()
        body = "\n".join(json.dumps({"id": i, "text": line}) for i, line in enumerate(grammar_text())) + "\n"
        r = cls.s.call("POST", "/api/v1/datasets?name=sentences", cls.admin, body.encode(),
                       {"Content-Type": "application/x-ndjson"})
        assert r.status == 201, r.body
        cls.text = r.json()["id"]
        t0 = time.time()
        cls.job = cls.submit(rnn_spec(cls.text, "sentences-rnn"))
        cls.done = cls.wait(cls.job["id"])
        cls.train_seconds = time.time() - t0

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    @classmethod
    def submit(cls, spec, expect=202):
        r = cls.s.call("POST", "/api/v1/training/jobs", cls.admin, spec)
        assert r.status == expect, r.body
        return r.json()

    @classmethod
    def wait(cls, job_id, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            j = cls.s.call("GET", "/api/v1/training/jobs/" + job_id, cls.admin).json()
            if j["status"] in ("succeeded", "failed", "cancelled"):
                return j
            time.sleep(0.1)
        raise AssertionError("job %s did not finish: %s" % (job_id, j))

    def generate(self, model, body, token=None):
        return self.s.call("POST", "/api/v1/models/%s/generate" % model, token or self.admin, body)

    def test_char_rnn_trains_and_registers_its_metrics(self):
        self.assertEqual(self.done["status"], "succeeded", self.done)
        self.assertLess(self.train_seconds, 60)
        metrics = self.s.call("GET", "/api/v1/training/jobs/%s/metrics" % self.job["id"], self.admin).json()["items"]
        self.assertEqual([m["epoch"] for m in metrics], list(range(1, 7)))
        first, last = metrics[0], metrics[-1]
        self.assertLess(last["train_loss"], first["train_loss"] * 0.8, metrics)
        self.assertLess(last["val_loss"], first["val_loss"], metrics)
        self.assertLess(last["val_loss"], 1.6)  # a uniform guess over 25 symbols is ln(25) ≈ 3.2
        self.assertAlmostEqual(last["metrics"]["perplexity"], math.exp(last["val_loss"]), places=6)
        v = self.s.call("GET", "/api/v1/models/sentences-rnn/versions/1", self.admin).json()
        self.assertEqual(v["metrics"]["val_loss"], min(m["val_loss"] for m in metrics))
        self.assertAlmostEqual(v["metrics"]["perplexity"], math.exp(v["metrics"]["val_loss"]), places=6)
        self.assertEqual(v["params"]["architecture"], "char_rnn")
        model = self.s.call("GET", "/api/v1/models/sentences-rnn", self.admin).json()
        self.assertEqual(model["model_type"], "generation")

    def test_generate_returns_max_tokens_and_is_deterministic_for_a_seed(self):
        body = {"prompt": "the cat ", "max_tokens": 150, "temperature": 0.8, "top_k": 10, "seed": 42, "version": 1}
        a = self.generate("sentences-rnn", body)
        self.assertEqual(a.status, 200, a.body)
        out = a.json()
        self.assertEqual(out["tokens"], 150)
        self.assertEqual(len(out["text"]), 150)
        self.assertEqual((out["model"], out["version"]), ("sentences-rnn", 1))
        self.assertGreater(out["latency_ms"], 0)
        b = self.generate("sentences-rnn", body).json()
        self.assertEqual(b["text"], out["text"])
        others = {self.generate("sentences-rnn", dict(body, seed=s, temperature=1.0)).json()["text"] for s in (1, 2, 3)}
        self.assertGreaterEqual(len(others), 2)
        # The model learnt the grammar's words: most generated words are words of the text.
        vocabulary = set(" ".join(grammar_text()).replace(".", " ").split())
        words = [w for w in out["text"].replace(".", " ").split()][1:-1]
        known = sum(w in vocabulary for w in words)
        self.assertGreater(known, 0.6 * len(words), out["text"])
        # Greedy: no seed needed, and always the same.
        g1 = self.generate("sentences-rnn", {"prompt": "the ", "max_tokens": 40, "temperature": 0, "version": 1})
        g2 = self.generate("sentences-rnn", {"prompt": "the ", "max_tokens": 40, "temperature": 0, "version": 1})
        self.assertEqual(g1.status, 200, g1.body)
        self.assertEqual(g1.json()["text"], g2.json()["text"])
        tokens_per_s = 150 / (out["latency_ms"] / 1000.0)
        metrics = self.s.call("GET", "/api/v1/training/jobs/%s/metrics" % self.job["id"], self.admin).json()["items"]
        print("\n  char_rnn: %.1f s training, train_loss %.3f -> %.3f, val_loss %s, %.1f ms for 150 tokens (%.0f/s)"
              % (self.train_seconds, metrics[0]["train_loss"], metrics[-1]["train_loss"],
                 [round(m["val_loss"], 3) for m in metrics], out["latency_ms"], tokens_per_s))

    def test_stage_selects_the_version(self):
        r = self.generate("sentences-rnn", {"prompt": "a", "max_tokens": 5, "stage": "staging"})
        self.assertEqual(r.status, 404, r.body)   # nothing in staging yet
        r = self.s.call("POST", "/api/v1/models/sentences-rnn/versions/1/stage", self.admin, {"stage": "staging"})
        self.assertEqual(r.status, 200, r.body)
        r = self.generate("sentences-rnn", {"prompt": "a", "max_tokens": 5, "stage": "staging"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["version"], 1)

    def test_bad_requests_name_the_field(self):
        cases = [
            ({"prompt": "the", "max_tokens": 5000, "version": 1}, "max_tokens"),
            ({"prompt": "the", "max_tokens": 0, "version": 1}, "max_tokens"),
            ({"prompt": "the", "max_tokens": "many", "version": 1}, "max_tokens"),
            ({"prompt": "the", "temperature": -0.5, "version": 1}, "temperature"),
            ({"prompt": "the", "top_k": -1, "version": 1}, "top_k"),
            ({"prompt": "the", "seed": -4, "version": 1}, "seed"),
            ({"prompt": 12, "version": 1}, "prompt"),
            ({"prompt": "the", "beam": 4, "version": 1}, "beam"),
            ({"prompt": "the", "version": 1, "stage": "production"}, "stage"),
        ]
        for body, field in cases:
            r = self.generate("sentences-rnn", body)
            self.assertEqual(r.status, 400, (body, r.body))
            self.assertEqual(r.json()["error"]["details"].get("field"), field, (body, r.body))
        r = self.generate("no-such-model", {"prompt": "x"})
        self.assertEqual(r.status, 404, r.body)

    def test_bad_training_params_name_the_field(self):
        for params, field in [({"heads": 4}, "model.params.heads"), ({"hidden": "big"}, "model.params.hidden"),
                              ({"depth": 3}, "model.params.depth"), ({"seq_len": 1}, "model.params.seq_len")]:
            spec = rnn_spec(self.text, "never")
            spec["model"]["params"] = params
            r = self.s.call("POST", "/api/v1/training/jobs", self.admin, spec)
            self.assertEqual(r.status, 400, r.body)
            self.assertEqual(r.json()["error"]["details"].get("field"), field, r.body)
        spec = rnn_spec(self.text, "never")
        spec["model"]["architecture"] = "char_transformer"
        spec["model"]["params"] = {"hidden": 30, "heads": 4}
        r = self.s.call("POST", "/api/v1/training/jobs", self.admin, spec)
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()["error"]["details"].get("field"), "model.params.heads", r.body)

    def test_char_transformer_trains_and_generates(self):
        spec = rnn_spec(self.text, "sentences-transformer", epochs=3)
        spec["model"]["architecture"] = "char_transformer"
        spec["model"]["params"] = {"hidden": 48, "layers": 1, "heads": 4, "seq_len": 32}
        job = self.submit(spec)
        done = self.wait(job["id"])
        self.assertEqual(done["status"], "succeeded", done)
        metrics = self.s.call("GET", "/api/v1/training/jobs/%s/metrics" % job["id"], self.admin).json()["items"]
        self.assertLess(metrics[-1]["val_loss"], metrics[0]["val_loss"], metrics)
        body = {"prompt": "my sister ", "max_tokens": 60, "seed": 5, "version": 1}
        a = self.generate("sentences-transformer", body)
        self.assertEqual(a.status, 200, a.body)
        self.assertEqual(a.json()["tokens"], 60)
        self.assertEqual(self.generate("sentences-transformer", body).json()["text"], a.json()["text"])

    def test_a_model_that_does_not_generate_is_a_precondition_failure(self):
        rows = "x,y\n" + "".join("%d,%d\n" % (i, 2 * i) for i in range(40))
        r = self.s.call("POST", "/api/v1/datasets?name=line", self.admin, rows.encode(), {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 201, r.body)
        job = self.submit({"dataset": r.json()["id"], "target": "y", "epochs": 2,
                           "model": {"model_type": "regression", "architecture": "mlp", "params": {"hidden": [4]}},
                           "register": {"model_name": "line-mlp"}})
        self.assertEqual(self.wait(job["id"])["status"], "succeeded")
        r = self.generate("line-mlp", {"prompt": "x", "version": 1})
        self.assertEqual(r.status, 412, r.body)
        self.assertEqual(r.json()["error"]["code"], "failed_precondition")
        self.assertIn("does not generate text", r.json()["error"]["message"])

    def test_generation_needs_the_predict_permission(self):
        self.assertEqual(self.s.call("POST", "/api/v1/models/sentences-rnn/generate", None,
                                     {"prompt": "a"}).status, 401)
        r = self.s.request("POST", "/api/v1/auth/register", {"username": "reader", "email": "reader@example.com",
                                                             "password": "a long enough password 1"})
        self.assertEqual(r.status, 201, r.body)
        viewer = self.s.login("reader", "a long enough password 1")
        r = self.generate("sentences-rnn", {"prompt": "a", "version": 1}, token=viewer)
        self.assertEqual(r.status, 403, r.body)


if __name__ == "__main__":
    unittest.main()
