"""The model registry over HTTP on the real binary: uploads of TorchScript, ONNX and XGBoost made by
Debian's PyTorch and XGBoost, the stage lifecycle, aliases, rollback, verification, permissions."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import uuid

from harness import Server, run_cli

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "Registry-user-pass-2026"
SIGNATURE = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
             "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 3]}]}


def multipart(parts):
    """parts: list of (name, filename or None, content type, bytes)."""
    boundary = "----c19ai" + uuid.uuid4().hex
    out = b""
    for name, filename, ctype, data in parts:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += ("--%s\r\nContent-Disposition: %s\r\nContent-Type: %s\r\n\r\n" % (boundary, disp, ctype)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return out, "multipart/form-data; boundary=" + boundary


class Registry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.art = tempfile.mkdtemp(prefix="c19ai-art-")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "../ml/make_artifacts.py"), cls.art], check=True)
        cls.s = Server()
        cls.admin = cls.s.login()
        cls.tokens = {}
        for user, role in (("vera", "viewer"), ("dana", "data_scientist"), ("emil", "ml_engineer")):
            r = cls.s.call("POST", "/api/v1/users", cls.admin, {"username": user, "email": user + "@example.com",
                                                                 "password": PASSWORD, "roles": [role]})
            assert r.status == 201, r.body
            cls.tokens[role] = cls.s.login(user, PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        shutil.rmtree(cls.art, ignore_errors=True)

    def read(self, name):
        with open(os.path.join(self.art, name), "rb") as f:
            return f.read()

    def create(self, name, framework="torchscript", token=None, **extra):
        body = {"name": name, "model_type": "classification", "framework": framework}
        body.update(extra)
        r = self.s.call("POST", "/api/v1/models", token or self.admin, body)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def upload(self, name, data, metadata=None, token=None, raw_metadata=None):
        parts = [("artifact", "model.bin", "application/octet-stream", data)]
        if metadata is not None or raw_metadata is not None:
            meta = raw_metadata if raw_metadata is not None else json.dumps(metadata).encode()
            parts.append(("metadata", None, "application/json", meta))
        body, ctype = multipart(parts)
        return self.s.call("POST", "/api/v1/models/%s/versions" % name, token or self.admin, body,
                           {"Content-Type": ctype})

    def stage(self, name, version, stage, **extra):
        body = {"stage": stage}
        body.update(extra)
        return self.s.call("POST", "/api/v1/models/%s/versions/%s/stage" % (name, version), self.admin, body)

    def test_lifecycle_of_a_torchscript_model(self):
        self.create("it-iris", description="iris classifier", tags={"team": "vision"})
        pt = self.read("mlp.pt")
        v1 = self.upload("it-iris", pt, {"signature": SIGNATURE, "metrics": {"accuracy": 0.91}, "params": {"lr": 0.01},
                                         "lineage": {"dataset_id": "ds-1"}, "description": "first"})
        self.assertEqual(v1.status, 201, v1.body)
        v1 = v1.json()
        self.assertEqual((v1["version"], v1["stage"], v1["source"]), (1, "none", "upload"))
        self.assertEqual(v1["sha256"], hashlib.sha256(pt).hexdigest())
        self.assertEqual(v1["size"], len(pt))
        self.assertEqual(v1["metrics"], {"accuracy": 0.91})
        self.assertEqual(v1["signature"], SIGNATURE)
        # The metadata part may also come first.
        body, ctype = multipart([("metadata", None, "application/json", json.dumps({"signature": SIGNATURE}).encode()),
                                 ("artifact", "m.pt", "application/octet-stream", pt)])
        v2 = self.s.call("POST", "/api/v1/models/it-iris/versions", self.admin, body, {"Content-Type": ctype})
        self.assertEqual(v2.status, 201, v2.body)
        self.assertEqual(v2.json()["version"], 2)

        # Download: the same bytes, the hash in ETag.
        r = self.s.call("GET", "/api/v1/models/it-iris/versions/1/artifact", self.admin)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, pt)
        self.assertEqual(r.headers["x-content-sha256"], hashlib.sha256(pt).hexdigest())

        # Promote, alias, promote again (v1 archived), roll back (v2 archived).
        self.assertEqual(self.stage("it-iris", 1, "production", reason="go live").status, 200)
        r = self.s.call("PUT", "/api/v1/models/it-iris/aliases/champion", self.admin, {"version": 1})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["aliases"], ["champion"])
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-iris/versions/champion", self.admin).json()["version"], 1)
        self.assertEqual(self.stage("it-iris", 2, "production").status, 200)
        m = self.s.call("GET", "/api/v1/models/it-iris", self.admin).json()
        self.assertEqual((m["production_version"], m["latest_version"], m["aliases"]), (2, 2, {"champion": 1}))
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-iris/versions/1", self.admin).json()["stage"], "archived")
        r = self.s.call("POST", "/api/v1/models/it-iris/rollback", self.admin, {"reason": "v2 regressed"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.json()["version"], r.json()["stage"]), (1, "production"))
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-iris/versions/2", self.admin).json()["stage"], "archived")
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-iris/versions/production", self.admin).json()["version"], 1)

        history = self.s.call("GET", "/api/v1/models/it-iris/transitions", self.admin).json()["items"]
        self.assertEqual(history[0]["to"], "production")
        self.assertEqual(history[0]["version"], 1)
        self.assertIn("v2 regressed", history[0]["reason"])
        self.assertEqual(history[0]["actor"], "admin")
        self.assertEqual([h["to"] for h in history][-1], "production")  # the first promotion is the oldest

        r = self.s.call("POST", "/api/v1/models/it-iris/versions/1/verify", self.admin)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["ok"], r.body)
        self.assertTrue(r.json()["loads"])

        listing = self.s.call("GET", "/api/v1/models/it-iris/versions?stage=archived", self.admin).json()["items"]
        self.assertEqual([v["version"] for v in listing], [2])

        # Deleting a model with a production version needs force.
        self.assertEqual(self.s.call("DELETE", "/api/v1/models/it-iris", self.admin).status, 412)
        self.assertEqual(self.s.call("DELETE", "/api/v1/models/it-iris?force=true", self.admin).status, 204)
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-iris", self.admin).status, 404)

        # Every change is in the audit trail.
        audit = self.s.call("GET", "/api/v1/audit?limit=1000", self.admin).json()["items"]
        actions = {a["action"] for a in audit if a["resource"].startswith("model:it-iris")}
        for action in ("model.create", "model.version.stage", "model.alias.set", "model.rollback", "model.delete"):
            self.assertIn(action, actions)

    def test_onnx_and_xgboost_versions(self):
        self.create("it-onnx", framework="onnx")
        r = self.upload("it-onnx", self.read("mlp.onnx"), {"signature": SIGNATURE})
        self.assertEqual(r.status, 201, r.body)
        self.create("it-xgb", framework="xgboost", model_type="classification")
        r = self.upload("it-xgb", self.read("binary.json"))  # the booster describes its inputs
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["signature"]["inputs"][0]["shape"], [-1, 4])
        r = self.upload("it-xgb", self.read("multi.json"), {"metrics": {"mlogloss": 0.2}})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["signature"]["outputs"][0]["shape"], [-1, 3])
        stats = self.s.call("GET", "/api/v1/registry/stats", self.admin).json()
        self.assertGreaterEqual(stats["by_framework"]["xgboost"], 1)
        self.assertGreaterEqual(stats["versions"], 3)
        self.assertGreater(stats["bytes"], 0)

    def test_bad_artifacts_are_refused_and_leave_nothing(self):
        self.create("it-bad")
        pt = self.read("mlp.pt")
        cases = [
            (pt[: len(pt) // 2], {"signature": SIGNATURE}, 422, "artifact"),
            (pt, None, 422, "signature"),
            (pt, {"signature": dict(SIGNATURE, inputs=[{"name": "input", "datatype": "FP32", "shape": [-1, 5]}])},
             422, "artifact"),
            (self.read("mlp.onnx"), {"signature": SIGNATURE}, 422, "artifact"),
            (pt, {"signature": {"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1]}]}}, 400,
             "metadata.signature.inputs[0].datatype"),
            (pt, {"signature": SIGNATURE, "metrics": {"acc": "high"}}, 400, "metadata.metrics"),
            (pt, {"signature": SIGNATURE, "colour": "red"}, 400, "metadata.colour"),
        ]
        for data, meta, status, field in cases:
            r = self.upload("it-bad", data, meta)
            self.assertEqual(r.status, status, r.body)
            self.assertEqual(r.json()["error"]["details"].get("field"), field, r.body)
        r = self.upload("it-bad", pt, raw_metadata=b"{not json")
        self.assertEqual(r.status, 400)
        body, ctype = multipart([("metadata", None, "application/json", b"{}")])
        r = self.s.call("POST", "/api/v1/models/it-bad/versions", self.admin, body, {"Content-Type": ctype})
        self.assertEqual((r.status, r.json()["error"]["details"].get("field")), (400, "artifact"))
        r = self.s.call("POST", "/api/v1/models/it-bad/versions", self.admin, pt,
                        {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.upload("it-nope", pt, {"signature": SIGNATURE}).status, 404)
        # Nothing half-registered: no versions, and the next good upload is version 1.
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-bad/versions", self.admin).json()["items"], [])
        r = self.upload("it-bad", pt, {"signature": SIGNATURE})
        self.assertEqual((r.status, r.json()["version"]), (201, 1))

    def test_concurrent_uploads_get_distinct_numbers(self):
        self.create("it-conc")
        pt = self.read("mlp.pt")
        results = []

        def worker():
            for _ in range(3):
                r = self.upload("it-conc", pt, {"signature": SIGNATURE})
                results.append((r.status, r.json().get("version")))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(s == 201 for s, _ in results), results)
        self.assertEqual(sorted(v for _, v in results), list(range(1, 13)))

    def test_search_sort_and_paging(self):
        for i, fw in enumerate(("onnx", "xgboost", "onnx")):
            self.create("it-search-%d" % i, framework=fw, tags={"batch": "s%d" % (i % 2)})
        r = self.s.call("GET", "/api/v1/models?q=IT-SEARCH&framework=onnx", self.admin).json()
        self.assertEqual([m["name"] for m in r["items"]], ["it-search-0", "it-search-2"])
        r = self.s.call("GET", "/api/v1/models?q=it-search&tag=batch:s1", self.admin).json()
        self.assertEqual([m["name"] for m in r["items"]], ["it-search-1"])
        r = self.s.call("GET", "/api/v1/models?q=it-search&sort=name&order=desc&limit=2", self.admin).json()
        self.assertEqual([m["name"] for m in r["items"]], ["it-search-2", "it-search-1"])
        r2 = self.s.call("GET", "/api/v1/models?q=it-search&sort=name&order=desc&limit=2&page_token=" +
                         r["next_page_token"], self.admin).json()
        self.assertEqual([m["name"] for m in r2["items"]], ["it-search-0"])
        self.assertIsNone(r2["next_page_token"])
        self.assertEqual(self.s.call("GET", "/api/v1/models?sort=size", self.admin).status, 400)
        r = self.s.call("PATCH", "/api/v1/models/it-search-0", self.admin, {"name": "it-renamed", "description": "d"})
        self.assertEqual((r.status, r.json()["name"]), (200, "it-renamed"))
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-search-0", self.admin).status, 404)
        self.assertEqual(self.s.call("PATCH", "/api/v1/models/it-renamed", self.admin, {"name": "IT-SEARCH-1"}).status,
                         409)
        r = self.s.call("POST", "/api/v1/models", self.admin, {"name": "it-x", "model_type": "vision"})
        self.assertEqual((r.status, r.json()["error"]["details"]["field"]), (400, "model_type"))

    def test_permissions(self):
        viewer, scientist, engineer = (self.tokens[r] for r in ("viewer", "data_scientist", "ml_engineer"))
        self.assertEqual(self.s.call("GET", "/api/v1/models").status, 401)
        self.assertEqual(self.s.call("GET", "/api/v1/models", viewer).status, 200)
        r = self.s.call("POST", "/api/v1/models", viewer, {"name": "it-perm", "framework": "torchscript"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.s.call("POST", "/api/v1/models", scientist, {"name": "it-perm"}).status, 403)
        m = self.create("it-perm", token=engineer)
        self.assertEqual(m["owner"], "emil")
        pt = self.read("mlp.pt")
        self.assertEqual(self.upload("it-perm", pt, {"signature": SIGNATURE}, token=viewer).status, 403)
        self.assertEqual(self.upload("it-perm", pt, {"signature": SIGNATURE}, token=engineer).status, 201)
        promote = {"stage": "production"}
        self.assertEqual(self.s.call("POST", "/api/v1/models/it-perm/versions/1/stage", scientist, promote).status, 403)
        self.assertEqual(self.s.call("POST", "/api/v1/models/it-perm/versions/1/stage", engineer, promote).status, 200)
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-perm/versions/1/artifact", viewer).status, 200)
        self.assertEqual(self.s.call("POST", "/api/v1/registry/retention", engineer, {"older_than": "1d"}).status, 403)
        r = self.s.call("POST", "/api/v1/registry/retention", self.admin, {"older_than": "0s"})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["dry_run"])
        self.assertEqual(self.s.call("POST", "/api/v1/registry/retention", self.admin, {"older_than": "soon"}).status,
                         400)

    def test_cli_verify_and_retention(self):
        self.create("it-cli")
        pt = self.read("mlp.pt")
        for _ in range(2):
            self.assertEqual(self.upload("it-cli", pt + b"", {"signature": SIGNATURE}).status, 201)
        self.assertEqual(self.stage("it-cli", 1, "production").status, 200)
        self.assertEqual(self.stage("it-cli", 2, "production").status, 200)  # archives v1
        flags = ["--data-dir", self.s.dir] + (["--database", self.s.database_url] if self.s.database_url else [])
        r = run_cli("model", "verify", "it-cli", "2", *flags)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok: sha256 " + hashlib.sha256(pt).hexdigest(), r.stdout)
        r = run_cli("model", "retention", "--older-than", "0s", *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("it-cli\t1", r.stdout)
        self.assertIn("would be removed", r.stdout)
        r = run_cli("model", "retention", "--older-than", "0s", "--apply", *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        v1 = self.s.call("GET", "/api/v1/models/it-cli/versions/1", self.admin).json()
        self.assertFalse(v1["artifact_present"])
        self.assertIsNotNone(v1["artifact_removed_at"])
        # v2 holds the same bytes: its artifact is still there.
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-cli/versions/2/artifact", self.admin).body, pt)
        self.assertEqual(self.s.call("GET", "/api/v1/models/it-cli/versions/1/artifact", self.admin).status, 412)
        self.assertEqual(self.stage("it-cli", 1, "staging").status, 412)


if __name__ == "__main__":
    unittest.main()
