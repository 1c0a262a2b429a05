"""Datasets, schemas, validation, profiling, drift, outliers and cleaning over HTTP on the real binary.
Reference values come from Debian's pandas, numpy and scipy, computed here on the same bytes."""
import hashlib
import io
import json
import os
import random
import shutil
import tempfile
import time
import unittest
import uuid

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from harness import Server, run_cli, ADMIN_PASSWORD

PASSWORD = "Datasets-user-pass-2026"


def multipart(parts):
    boundary = "----c19ai" + uuid.uuid4().hex
    out = b""
    for name, filename, ctype, data in parts:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += ("--%s\r\nContent-Disposition: %s\r\nContent-Type: %s\r\n\r\n" % (boundary, disp, ctype)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return out, "multipart/form-data; boundary=" + boundary


def numeric_csv(seed, n=600, shift=0.0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "x": rng.normal(10 + shift, 2, n).round(4),
        "y": rng.exponential(3, n).round(4),
        "cat": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.1, 0.2, 0.3, 0.4]),
    })
    df["z"] = (df["x"] * 2 + rng.normal(0, 1, n)).round(4)
    df.loc[rng.choice(n, 25, replace=False), "y"] = np.nan
    return df


class Datasets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.admin = cls.s.login()
        cls.tokens = {}
        for user, role in (("vera", "viewer"), ("dana", "data_scientist")):
            r = cls.s.call("POST", "/api/v1/users", cls.admin, {"username": user, "email": user + "@example.com",
                                                                 "password": PASSWORD, "roles": [role]})
            assert r.status == 201, r.body
            cls.tokens[role] = cls.s.login(user, PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def upload(self, name, data, ctype="text/csv", token=None, query="", expect=201):
        r = self.s.call("POST", "/api/v1/datasets?name=%s%s" % (name, query), token or self.admin, data,
                        {"Content-Type": ctype})
        self.assertEqual(r.status, expect, r.body)
        return r.json()

    def validate(self, ds, schema, expect=200, **extra):
        body = {"schema": schema}
        body.update(extra)
        r = self.s.call("POST", "/api/v1/datasets/%s/validate" % ds, self.admin, body)
        self.assertEqual(r.status, expect, r.body)
        return r.json()

    # ------------------------------------------------------------------ upload and versions

    def test_messy_csv_counts_records_not_lines(self):
        data = ('\ufeffid,name,note\n1,"Smith, Ann","say ""hi"""\r\n2,Bob,"two\nlines"\n\n3,"",plain\n').encode()
        d = self.upload("messy", data)
        self.assertEqual(d["rows"], 3)
        self.assertEqual([c["name"] for c in d["columns"]], ["id", "name", "note"])  # BOM stripped
        self.assertEqual(d["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(d["size"], len(data))
        self.assertEqual(d["version"], 1)
        r = self.s.call("GET", "/api/v1/datasets/%s/content" % d["id"], self.admin)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, data)
        self.assertEqual(r.headers["x-content-sha256"], d["sha256"])
        df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
        self.assertEqual(len(df), d["rows"])

    def test_malformed_files_name_the_line(self):
        cases = [
            (b"a,b\n1,2\n3,4,5\n", "line 3"),                     # ragged
            (b"a,b\n1,2\n\"3,4\n5,6\n", "line 3"),                # unterminated quote
            (b"a,b\n1,2\n2,\xff\xfe\n", "line 3"),                # invalid UTF-8
            (b"a,b\n1,\"x\"y\n", "line 2"),                       # text after a closing quote
        ]
        for data, where in cases:
            r = self.s.call("POST", "/api/v1/datasets?name=bad", self.admin, data, {"Content-Type": "text/csv"})
            self.assertEqual(r.status, 400, r.body)
            err = r.json()["error"]
            self.assertIn(where, err["message"], data)
            self.assertEqual(err["details"]["line"], int(where.split()[1]))
        r = self.s.call("POST", "/api/v1/datasets?name=bad", self.admin, b'{"a":1}\n[1,2]\n',
                        {"Content-Type": "application/x-ndjson"})
        self.assertEqual(r.status, 400, r.body)
        self.assertIn("line 2", r.json()["error"]["message"])
        r = self.s.call("GET", "/api/v1/datasets?name=bad", self.admin)
        self.assertEqual(r.json()["items"], [])  # nothing was stored

    def test_bad_requests_name_the_field(self):
        r = self.s.call("POST", "/api/v1/datasets", self.admin, b"a\n1\n", {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["details"]["field"], "name")
        r = self.s.call("POST", "/api/v1/datasets?name=x&delimiter=ab", self.admin, b"a\n1\n", {"Content-Type": "text/csv"})
        self.assertEqual(r.json()["error"]["details"]["field"], "delimiter")
        r = self.s.call("POST", "/api/v1/datasets?name=x", self.admin, b"a\n1\n", {"Content-Type": "image/png"})
        self.assertEqual(r.json()["error"]["details"]["field"], "Content-Type")
        r = self.s.call("GET", "/api/v1/datasets/nope", self.admin)
        self.assertEqual(r.status, 404)

    def test_jsonl_multipart_delimiter_and_versions(self):
        jl = b'{"a": 1, "b": "x"}\n{"a": 2, "c": true}\n\n{"a": null, "b": "y"}\n'
        d = self.upload("events", jl, "application/x-ndjson")
        self.assertEqual((d["format"], d["rows"]), ("jsonl", 3))
        self.assertEqual([c["name"] for c in d["columns"]], ["a", "b", "c"])
        body, ctype = multipart([("file", "events.csv", "text/csv", b"a;b\n1;2\n3;4\n")])
        d2 = self.upload("events", body, ctype, query="&delimiter=;")
        self.assertEqual((d2["version"], d2["rows"], d2["delimiter"]), (2, 2, ";"))
        r = self.s.call("GET", "/api/v1/datasets/events", self.admin)
        self.assertEqual(r.json()["id"], d2["id"])  # a name is its latest version
        r = self.s.call("GET", "/api/v1/datasets/events@1", self.admin)
        self.assertEqual(r.json()["id"], d["id"])
        r = self.s.call("GET", "/api/v1/datasets?name=events", self.admin)
        self.assertEqual([i["version"] for i in r.json()["items"]], [2, 1])
        r = self.s.call("DELETE", "/api/v1/datasets/%s" % d["id"], self.admin)
        self.assertEqual(r.status, 204)
        self.assertEqual(self.s.call("GET", "/api/v1/datasets/%s" % d["id"], self.admin).status, 404)
        r = self.s.call("GET", "/api/v1/datasets/%s/content" % d2["id"], self.admin)
        self.assertEqual(r.body, b"a;b\n1;2\n3;4\n")

    def test_permissions(self):
        r = self.s.call("POST", "/api/v1/datasets?name=p", self.tokens["viewer"], b"a\n1\n", {"Content-Type": "text/csv"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.s.call("GET", "/api/v1/datasets", None).status, 401)
        d = self.upload("perm", b"a\n1\n", token=self.tokens["data_scientist"])
        self.assertEqual(self.s.call("GET", "/api/v1/datasets/%s/profile" % d["id"], self.tokens["viewer"]).status, 200)
        self.assertEqual(self.s.call("DELETE", "/api/v1/datasets/%s" % d["id"], self.tokens["viewer"]).status, 403)
        self.assertEqual(self.s.call("POST", "/api/v1/schemas", self.tokens["viewer"], {"name": "s"}).status, 403)

    # ------------------------------------------------------------------ profiling

    def test_profile_matches_pandas(self):
        df = numeric_csv(1)
        data = df.to_csv(index=False).encode()
        d = self.upload("prof", data)
        p = self.s.call("GET", "/api/v1/datasets/%s/profile" % d["id"], self.admin).json()
        ref = pd.read_csv(io.BytesIO(data))
        cols = {c["name"]: c for c in p["columns"]}
        self.assertEqual(p["rows"], len(ref))
        self.assertEqual(cols["id"]["type"], "integer")
        self.assertEqual(cols["x"]["type"], "float")
        self.assertEqual(cols["cat"]["type"], "categorical")
        for name in ("x", "y", "z", "id"):
            c, s = cols[name], ref[name]
            self.assertEqual(c["missing"], int(s.isna().sum()), name)
            self.assertEqual(c["count"], int(s.count()), name)
            self.assertEqual(c["distinct"], int(s.nunique()), name)
            self.assertAlmostEqual(c["mean"], s.mean(), places=9)
            self.assertAlmostEqual(c["std"], s.std(), places=9)
            self.assertAlmostEqual(c["min"], s.min(), places=12)
            self.assertAlmostEqual(c["max"], s.max(), places=12)
            for q in (0.25, 0.5, 0.75):
                self.assertAlmostEqual(c["quantiles"][str(q)], s.quantile(q), places=9, msg=(name, q))
            counts, edges = np.histogram(s.dropna(), bins=10)
            self.assertEqual(c["histogram"]["counts"], counts.tolist(), name)
            np.testing.assert_allclose(c["histogram"]["edges"], edges, rtol=1e-12)
        top = ref["cat"].value_counts()
        self.assertEqual([(t["value"], t["count"]) for t in cols["cat"]["top_values"]],
                         list(zip(top.index.tolist(), top.values.tolist())))
        corr = ref[["id", "x", "y", "z"]].corr()
        for a in ("x", "y", "z"):
            for b in ("x", "y", "z"):
                self.assertAlmostEqual(p["correlations"][a][b], corr.loc[a, b], places=9, msg=(a, b))
        self.assertEqual(p["duplicate_rows"], int(ref.duplicated().sum()))
        q = p["quality"]
        self.assertAlmostEqual(q["completeness"], ref.notna().sum().sum() / ref.size, places=12)
        self.assertTrue(0 <= p["quality_score"] <= 100)

    def test_profile_counts_duplicates_and_lengths(self):
        data = b"k,v\na,1\nbb,2\na,1\nccc,\na,1\n"
        d = self.upload("dups", data)
        p = self.s.call("GET", "/api/v1/datasets/%s/profile" % d["id"], self.admin).json()
        self.assertEqual(p["duplicate_rows"], 2)
        k = p["columns"][0]
        self.assertEqual(k["length"], {"min": 1, "max": 3, "mean": (1 + 2 + 1 + 3 + 1) / 5})
        self.assertAlmostEqual(p["quality"]["uniqueness"], 1 - 2 / 5)

    # ------------------------------------------------------------------ validation

    RULES_CSV = (
        "id,age,email,status,start,end,score,code\n"
        "1,34,ann@example.com,active,2024-01-01,2024-02-01,0.5,AB12\n"
        "2,-5,bob@example,active,2024-01-03,2024-01-02,0.7,AB13\n"
        "3,41,,paused,2024-01-05,2024-03-01,1.5,XY\n"
        "3,200,dee@example.com,gone,2024-13-01,2024-03-01,0.2,AB14\n"
        "5,27,eve@example.com,active,2024-01-09,2024-04-01,abc,AB15\n"
    ).encode()

    def rows_of(self, report, code, errors=True):
        return sorted(e["row"] for e in report["errors" if errors else "warnings"] if e["code"] == code)

    def test_every_rule_type_reports_its_rows(self):
        d = self.upload("rules", self.RULES_CSV)
        schema = {"name": "rules", "fields": [
            {"name": "id", "data_type": "integer", "nullable": False, "constraints": [{"type": "unique"}, {"type": "monotonic"}]},
            {"name": "age", "data_type": "integer", "constraints": [{"type": "range", "min": 0, "max": 150}]},
            {"name": "email", "data_type": "string", "nullable": False,
             "constraints": [{"type": "regex", "pattern": "^[^@]+@[^@]+\\.[a-z]+$"}]},
            {"name": "status", "data_type": "categorical", "constraints": [{"type": "enum", "values": ["active", "paused"]}]},
            {"name": "start", "data_type": "date", "constraints": [{"type": "date_range", "min": "2024-01-02"}]},
            {"name": "end", "data_type": "date"},
            {"name": "score", "data_type": "float", "constraints": [{"type": "range", "min": 0, "max": 1, "exclusive_max": True}]},
            {"name": "code", "constraints": [{"type": "length", "min": 4, "max": 4}]},
            {"name": "missing_col", "required": True}],
            "constraints": [{"type": "compare", "a": "start", "op": "<", "b": "end"},
                            {"type": "expression", "expression": "age < 100 or status == 'paused'"},
                            {"type": "row_count", "min": 10}]}
        rep = self.validate(d["id"], schema)
        self.assertFalse(rep["is_valid"])
        self.assertEqual(self.rows_of(rep, "unique"), [4])
        self.assertEqual(self.rows_of(rep, "monotonic"), [])  # 3 after 3 is non-decreasing
        self.assertEqual(self.rows_of(rep, "range"), [2, 3, 4])  # age -5, score 1.5, age 200 ('abc' is a type error)
        self.assertEqual(self.rows_of(rep, "regex"), [2])
        self.assertEqual(self.rows_of(rep, "not_null"), [3])
        self.assertEqual(self.rows_of(rep, "enum"), [4])
        self.assertEqual(self.rows_of(rep, "type"), [4, 5])  # start 2024-13-01, score abc
        self.assertEqual(self.rows_of(rep, "date_range"), [1, 4])  # before the minimum; not a date
        self.assertEqual(self.rows_of(rep, "length"), [3])
        self.assertEqual(self.rows_of(rep, "compare"), [2, 4])  # row 4 compares as text
        self.assertEqual(self.rows_of(rep, "expression"), [4])
        dataset_level = [e for e in rep["errors"] if e["row"] is None]
        self.assertEqual(sorted(e["code"] for e in dataset_level), ["missing_column", "row_count"])
        score_err = [e for e in rep["errors"] if e["code"] == "range" and e["field"] == "score"][0]
        self.assertEqual(score_err["value"], "1.5")
        self.assertEqual(rep["statistics"]["rows"], 5)
        self.assertTrue(0 <= rep["quality_score"] < 100)

    def test_gx_names_mostly_and_warnings(self):
        d = self.upload("gx", self.RULES_CSV)
        schema = {"name": "gx", "constraints": [
            {"type": "expect_column_values_to_be_between", "column": "age", "min_value": 0, "max_value": 150, "mostly": 0.6},
            {"type": "expect_column_values_to_not_be_null", "column": "email"},
            {"type": "expect_column_values_to_be_in_set", "column": "status", "value_set": ["active", "paused"],
             "severity": "warning"},
            {"type": "expect_column_pair_values_a_to_be_greater_than_b", "column_A": "end", "column_B": "start"},
            {"type": "expect_table_row_count_to_be_between", "min_value": 1, "max_value": 5},
            {"type": "expect_column_to_exist", "column": "id"},
            {"type": "expect_column_values_to_be_unique", "column": "id", "mostly": 0.5},
        ]}
        rep = self.validate(d["id"], schema)
        rules = {r["rule"]: r for r in rep["statistics"]["rules"]}
        between = rules["expect_column_values_to_be_between"]
        self.assertEqual((between["checked"], between["failed"], between["passed"]), (5, 2, True))  # 3/5 >= 0.6
        self.assertEqual(self.rows_of(rep, "range", errors=False), [2, 4])  # passed thanks to mostly: warnings
        self.assertEqual(self.rows_of(rep, "enum", errors=False), [4])
        self.assertEqual(self.rows_of(rep, "not_null"), [3])
        self.assertEqual(self.rows_of(rep, "compare"), [2, 4])
        self.assertTrue(rules["expect_table_row_count_to_be_between"]["passed"])
        self.assertTrue(rules["expect_column_values_to_be_unique"]["passed"])
        self.assertFalse(rep["is_valid"])

    def test_gx_suite_import_lists_unsupported(self):
        suite = {"expectation_suite_name": "people_suite", "expectations": [
            {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
            {"expectation_type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "^AB"}},
            {"expectation_type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "x"}},
            {"expectation_type": "expect_column_mean_to_be_between", "kwargs": {"column": "age", "min_value": 0, "max_value": 50}},
        ]}
        r = self.s.call("POST", "/api/v1/schemas/import", self.admin, suite)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["unsupported"], ["expect_column_kl_divergence_to_be_less_than"])
        d = self.upload("gxsuite", self.RULES_CSV)
        r = self.s.call("POST", "/api/v1/datasets/%s/validate" % d["id"], self.admin, {"schema_name": "people_suite"})
        self.assertEqual(r.status, 200, r.body)
        rep = r.json()
        self.assertEqual(self.rows_of(rep, "regex"), [3])
        mean = [x for x in rep["statistics"]["rules"] if x["rule"] == "expect_column_mean_to_be_between"][0]
        self.assertAlmostEqual(mean["observed"], (34 - 5 + 41 + 200 + 27) / 5)
        self.assertFalse(mean["passed"])

    def test_inline_records_and_schema_errors(self):
        schema = {"name": "guard", "fields": [{"name": "sepal", "data_type": "float", "nullable": False,
                                               "constraints": [{"type": "range", "min": 0}]},
                                              {"name": "label", "required": False}],
                  "constraints": [{"type": "required_if", "column": "label", "condition": "sepal > 5"}]}
        r = self.s.call("POST", "/api/v1/validate", self.admin,
                        {"schema": schema, "records": [{"sepal": 1.5}, {"sepal": -1}, {"label": "x"}, {"sepal": 6}]})
        self.assertEqual(r.status, 200, r.body)
        rep = r.json()
        self.assertEqual(self.rows_of(rep, "range"), [2])
        self.assertEqual(self.rows_of(rep, "missing_column"), [3])
        self.assertEqual(self.rows_of(rep, "not_null"), [3])
        self.assertEqual(self.rows_of(rep, "required_if"), [4])
        bad = [({"name": "s", "fields": [{"name": "a", "data_type": "bogus"}]}, "schema.fields[0].data_type"),
               ({"name": "s", "fields": [{"name": "a", "constraints": [{"type": "regex", "pattern": "("}]}]},
                "fields[0].constraints[0].pattern"),
               ({"name": "s", "constraints": [{"type": "expression", "expression": "a <"}]}, "constraints[0].expression")]
        for schema, field in bad:
            r = self.s.call("POST", "/api/v1/validate", self.admin, {"schema": schema, "records": [{"a": 1}]})
            self.assertEqual(r.status, 400, r.body)
            self.assertTrue(r.json()["error"]["details"]["field"].endswith(field), r.body)
        r = self.s.call("POST", "/api/v1/validate", self.admin, {"schema": {"name": "s"}, "records": [1]})
        self.assertEqual(r.json()["error"]["details"]["field"], "records[0]")

    def test_batch_validation_of_several_datasets(self):
        good = self.upload("batchgood", b"age\n1\n2\n")
        bad = self.upload("batchbad", b"age\n1\n-2\n")
        schema = {"name": "b", "fields": [{"name": "age", "data_type": "integer", "constraints": [{"type": "range", "min": 0}]}]}
        r = self.s.call("POST", "/api/v1/validations", self.admin,
                        {"datasets": [good["id"], "batchbad@1", "nosuch"], "schema": schema})
        self.assertEqual(r.status, 200, r.body)
        out = r.json()
        self.assertFalse(out["all_valid"])
        items = out["items"]
        self.assertTrue(items[0]["report"]["is_valid"])
        self.assertEqual([e["row"] for e in items[1]["report"]["errors"]], [2])
        self.assertEqual(items[2]["error"]["code"], "not_found")
        r = self.s.call("POST", "/api/v1/validations", self.admin, {"datasets": [], "schema": schema})
        self.assertEqual(r.json()["error"]["details"]["field"], "datasets")

    def test_schemas_are_versioned_and_inferred(self):
        schema = {"name": "orders", "fields": [{"name": "id", "data_type": "integer"}]}
        r1 = self.s.call("POST", "/api/v1/schemas", self.admin, schema)
        self.assertEqual(r1.status, 201, r1.body)
        schema["fields"].append({"name": "total", "data_type": "float", "nullable": False})
        r2 = self.s.call("POST", "/api/v1/schemas", self.admin, schema)
        self.assertEqual((r1.json()["version"], r2.json()["version"]), (1, 2))
        self.assertEqual(len(self.s.call("GET", "/api/v1/schemas/orders", self.admin).json()["fields"]), 2)
        self.assertEqual(len(self.s.call("GET", "/api/v1/schemas/orders/versions/1", self.admin).json()["fields"]), 1)
        self.assertEqual(self.s.call("GET", "/api/v1/schemas/orders/versions/9", self.admin).status, 404)
        names = [s["name"] for s in self.s.call("GET", "/api/v1/schemas", self.admin).json()["items"]]
        self.assertIn("orders", names)
        d = self.upload("infer", b"id,price,kind,when\n1,2.5,a,2024-01-01\n2,,b,2024-01-02\n")
        r = self.s.call("POST", "/api/v1/datasets/%s/infer-schema" % d["id"], self.admin, {"name": "inferred", "save": True})
        self.assertEqual(r.status, 201, r.body)
        fields = {f["name"]: f for f in r.json()["fields"]}
        self.assertEqual([fields[n]["data_type"] for n in ("id", "price", "kind", "when")], ["integer", "float", "string", "date"])
        self.assertEqual((fields["price"]["nullable"], fields["id"]["nullable"]), (True, False))
        rep = self.validate(d["id"], r.json())
        self.assertTrue(rep["is_valid"], rep)

    def test_large_validation_runs_as_a_job(self):
        df = numeric_csv(7, n=2000)
        d = self.upload("big", df.to_csv(index=False).encode())
        schema = {"name": "big", "fields": [{"name": "x", "data_type": "float", "constraints": [{"type": "range", "max": 12}]}]}
        run = self.validate(d["id"], schema, expect=202, **{"async": True, "profile": True})
        self.assertIn(run["status"], ("queued", "running", "succeeded"))
        deadline = time.time() + 60
        while time.time() < deadline:
            run = self.s.call("GET", "/api/v1/validations/%s" % run["id"], self.admin).json()
            if run["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["progress"], 1)
        rules = {r["rule"]: r for r in run["report"]["statistics"]["rules"]}
        self.assertEqual(rules["range"]["failed"], int((df["x"] > 12).sum()))

    # ------------------------------------------------------------------ drift, outliers, cleaning

    def test_drift_matches_scipy(self):
        base, cur = numeric_csv(3), numeric_csv(4, shift=1.0)
        b = self.upload("drift", base.to_csv(index=False).encode())
        c = self.upload("drift", cur.to_csv(index=False).encode())
        r = self.s.call("POST", "/api/v1/datasets/%s/drift" % c["id"], self.admin, {"baseline": "drift@1"})
        self.assertEqual(r.status, 200, r.body)
        out = r.json()
        cols = {x["name"]: x for x in out["columns"]}
        for name in ("x", "y", "z"):
            a, bb = cur[name].dropna().values, base[name].dropna().values
            ks = stats.ks_2samp(a, bb, method="asymp")
            self.assertAlmostEqual(cols[name]["ks_statistic"], ks.statistic, places=12)
            en = round(len(a) * len(bb) / (len(a) + len(bb)))
            stephens = (np.sqrt(en) + 0.12 + 0.11 / np.sqrt(en)) * ks.statistic
            self.assertAlmostEqual(cols[name]["ks_pvalue"], stats.kstwobign.sf(stephens), places=9)
            self.assertAlmostEqual(cols[name]["ks_pvalue"], ks.pvalue, delta=0.01)  # scipy: finite-n kstwo
            cuts = np.unique(np.quantile(bb, np.arange(1, 10) / 10))
            e = np.maximum(np.bincount(np.searchsorted(cuts, bb, side="right"), minlength=len(cuts) + 1) / len(bb), 1e-4)
            g = np.maximum(np.bincount(np.searchsorted(cuts, a, side="right"), minlength=len(cuts) + 1) / len(a), 1e-4)
            self.assertAlmostEqual(cols[name]["psi"], float(np.sum((g - e) * np.log(g / e))), places=9)
        p = cur["cat"].value_counts().reindex(["a", "b", "c", "d"]).fillna(0).values
        q = base["cat"].value_counts().reindex(["a", "b", "c", "d"]).fillna(0).values
        self.assertAlmostEqual(cols["cat"]["jensen_shannon"], distance.jensenshannon(p, q, base=2), places=9)
        self.assertAlmostEqual(cols["cat"]["linf"], np.max(np.abs(p / p.sum() - q / q.sum())), places=12)
        self.assertTrue(cols["x"]["drift"] and cols["cat"]["drift"])
        self.assertEqual(out["verdict"], "drift")
        same = self.s.call("POST", "/api/v1/datasets/drift@1/drift", self.admin, {"baseline": "drift@1"}).json()
        self.assertEqual(same["verdict"], "no_drift")
        r = self.s.call("POST", "/api/v1/datasets/drift@1/drift", self.admin, {"baseline": "drift@1", "thresholds": {"psy": 1}})
        self.assertEqual(r.json()["error"]["details"]["field"], "thresholds.psy")

    def test_outliers_match_pandas(self):
        df = numeric_csv(5)
        df.loc[[3, 50], "x"] = [40.0, -30.0]
        d = self.upload("out", df.to_csv(index=False).encode())
        ref = pd.read_csv(io.BytesIO(df.to_csv(index=False).encode()))
        for method in ("zscore", "iqr"):
            r = self.s.call("GET", "/api/v1/datasets/%s/outliers?method=%s" % (d["id"], method), self.admin)
            self.assertEqual(r.status, 200, r.body)
            cols = {c["name"]: c for c in r.json()["columns"]}
            for name in ("x", "y", "z"):
                s = ref[name].dropna()
                if method == "zscore":
                    expect = int(((s - s.mean()).abs() > 3 * s.std()).sum())
                else:
                    q1, q3 = s.quantile(0.25), s.quantile(0.75)
                    expect = int(((s < q1 - 1.5 * (q3 - q1)) | (s > q3 + 1.5 * (q3 - q1))).sum())
                self.assertEqual(cols[name]["outliers"], expect, (method, name))
        rows = [e["row"] for e in cols["x"]["examples"]]
        self.assertIn(4, rows)  # data row 4 = index 3

    def test_clean_makes_a_new_version_with_rejects(self):
        data = b"id,name,age\n1,  Ann ,30\n2,bob,\n2,bob,\n3,Cy,-4\n4,DEE,50\n"
        d = self.upload("clean", data)
        rules = [{"op": "trim", "columns": ["name"]}, {"op": "lowercase", "columns": ["name"]},
                 {"op": "deduplicate"},
                 {"op": "drop_invalid", "schema": {"name": "c", "fields": [
                     {"name": "age", "data_type": "integer", "constraints": [{"type": "range", "min": 0}]}]}},
                 {"op": "fill_missing", "column": "age", "strategy": "mean"}]
        r = self.s.call("POST", "/api/v1/datasets/%s/clean" % d["id"], self.admin, {"rules": rules})
        self.assertEqual(r.status, 201, r.body)
        out = r.json()
        self.assertEqual((out["version"], out["source"], out["parent_id"]), (2, "clean", d["id"]))
        self.assertEqual(out["summary"]["rejected_rows"], 1)
        content = self.s.call("GET", "/api/v1/datasets/%s/content" % out["id"], self.admin).body
        cleaned = pd.read_csv(io.BytesIO(content))
        mean = pd.Series([30, -4, 50]).mean()  # the input's mean, before cleaning
        self.assertEqual(cleaned["name"].tolist(), ["ann", "bob", "dee"])
        np.testing.assert_allclose(cleaned["age"].tolist(), [30, mean, 50], rtol=1e-15)
        rej = self.s.call("GET", "/api/v1/datasets/%s/content" % out["summary"]["rejects"]["id"], self.admin).body
        self.assertEqual(pd.read_csv(io.BytesIO(rej))["id"].tolist(), [3])
        # The original version is untouched.
        self.assertEqual(self.s.call("GET", "/api/v1/datasets/%s/content" % d["id"], self.admin).body, data)
        r = self.s.call("POST", "/api/v1/datasets/%s/clean" % d["id"], self.admin, {"rules": [{"op": "explode"}]})
        self.assertEqual(r.json()["error"]["details"]["field"], "rules[0].op")

    # ------------------------------------------------------------------ CLI

    def test_cli_upload_list_profile_validate(self):
        tmp = tempfile.mkdtemp(prefix="c19ai-cli-")
        try:
            path = os.path.join(tmp, "people.csv")
            with open(path, "wb") as f:
                f.write(b'id,name,age\n1,"Smith, Ann",34\n2,Bob,-5\n3,Cy,41\n')
            schema = os.path.join(tmp, "s.json")
            with open(schema, "w") as f:
                json.dump({"name": "p", "fields": [{"name": "age", "data_type": "integer",
                                                   "constraints": [{"type": "range", "min": 0}]}]}, f)
            env = {"C19AI_URL": "http://127.0.0.1:%d" % self.s.port, "C19AI_TOKEN": self.admin}
            r = run_cli("dataset", "upload", path, "--name", "clipeople", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("clipeople", r.stdout)
            self.assertIn("3 rows", r.stdout)
            r = run_cli("dataset", "list", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("clipeople", r.stdout)
            r = run_cli("dataset", "profile", "clipeople", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("age", r.stdout)
            self.assertIn("quality", r.stdout)
            r = run_cli("dataset", "validate", "clipeople", "--schema", schema, env=env)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # invalid data: exit status 1
            self.assertIn("row 2", r.stdout)
            self.assertIn("INVALID", r.stdout)
            r = run_cli("dataset", "validate", "clipeople", "--schema", schema, "--json", env=env)
            self.assertFalse(json.loads(r.stdout)["is_valid"])
            r = run_cli("dataset", "profile", "nope", env=env)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("404", r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
