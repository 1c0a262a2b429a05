"""The files API over the real binary: streaming, ranges, ETags, limits, copies, expiry, S3, encryption."""
import hashlib
import http.client
import json
import os
import time
import unittest

from harness import Server

S3_URL = os.environ.get("C19AI_TEST_S3_URL", "")
REQUIRE = os.environ.get("C19AI_TEST_REQUIRE_SERVERS") == "1"


def put(s, token, key, data, headers=None):
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/octet-stream"}
    h.update(headers or {})
    return s.request("PUT", "/api/v1/files/" + key, body=data, headers=h)


class Files(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(args=["--set", "storage.cleaner_interval=200ms"])
        cls.token = cls.s.login()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def get(self, key, headers=None):
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        return self.s.request("GET", "/api/v1/files/" + key, headers=h)

    def test_round_trip_with_hash_etag_and_metadata(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        r = put(self.s, self.token, "it/blob.bin", data, {"X-Meta-Owner": "team-a", "Content-Type": "image/png"})
        self.assertEqual(r.status, 201, r.body)
        info = r.json()
        self.assertEqual(info["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(info["size"], len(data))
        self.assertEqual(info["metadata"], {"owner": "team-a"})
        g = self.get("it/blob.bin")
        self.assertEqual(g.status, 200)
        self.assertEqual(g.body, data)
        self.assertEqual(g.headers["etag"], '"%s"' % info["sha256"])
        self.assertEqual(g.headers["content-type"], "image/png")
        self.assertEqual(self.get("it/blob.bin", {"If-None-Match": g.headers["etag"]}).status, 304)
        again = put(self.s, self.token, "it/blob.bin", b"smaller")
        self.assertEqual(again.status, 200)
        self.assertEqual(self.get("it/blob.bin").body, b"smaller")

    def test_ranges(self):
        data = bytes(range(256)) * 100
        put(self.s, self.token, "it/ranges", data)
        r = self.get("it/ranges", {"Range": "bytes=100-199"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, data[100:200])
        self.assertEqual(r.headers["content-range"], "bytes 100-199/%d" % len(data))
        self.assertEqual(self.get("it/ranges", {"Range": "bytes=25000-"}).body, data[25000:])
        self.assertEqual(self.get("it/ranges", {"Range": "bytes=-10"}).body, data[-10:])
        self.assertEqual(self.get("it/ranges", {"Range": "bytes=25590-99999"}).body, data[25590:])
        bad = self.get("it/ranges", {"Range": "bytes=99999-"})
        self.assertEqual(bad.status, 416)
        self.assertEqual(bad.headers["content-range"], "bytes */%d" % len(data))
        self.assertEqual(self.get("it/ranges", {"Range": "bytes=5-2"}).status, 400)
        self.assertEqual(self.get("it/ranges", {"Range": "bytes=0-1,5-6"}).status, 200)  # multi-range: whole file

    def test_head(self):
        put(self.s, self.token, "it/head", b"12345")
        r = self.s.request("HEAD", "/api/v1/files/it/head", headers={"Authorization": "Bearer " + self.token})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-length"], "5")
        self.assertEqual(r.body, b"")

    def test_keys_cannot_escape_the_files_namespace(self):
        for key in ("..%2F..%2Fetc%2Fpasswd", "a/../../x", "a//b", "a/%2e%2e/b", "a:b", "%00x", "a%5Cb"):
            r = put(self.s, self.token, key, b"x")
            self.assertIn(r.status, (400, 404), (key, r.status, r.body))
        self.assertEqual(put(self.s, self.token, "a" * 1025, b"x").status, 400)
        r = put(self.s, self.token, "sp%C3%A4ce%20name/%E2%9C%93.txt", b"unicode")
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["key"], "späce name/✓.txt")

    def test_list_with_prefix_and_pages(self):
        for i in range(5):
            put(self.s, self.token, "listing/f%d" % i, b"x")
        h = {"Authorization": "Bearer " + self.token}
        r = self.s.request("GET", "/api/v1/files?prefix=listing/&limit=3", headers=h).json()
        self.assertEqual([i["key"] for i in r["items"]], ["listing/f0", "listing/f1", "listing/f2"])
        r2 = self.s.request("GET", "/api/v1/files?prefix=listing/&limit=3&page_token=" + r["next_page_token"],
                            headers=h).json()
        self.assertEqual([i["key"] for i in r2["items"]], ["listing/f3", "listing/f4"])

    def test_delete(self):
        put(self.s, self.token, "it/del", b"x")
        h = {"Authorization": "Bearer " + self.token}
        self.assertEqual(self.s.request("DELETE", "/api/v1/files/it/del", headers=h).status, 204)
        self.assertEqual(self.get("it/del").status, 404)
        self.assertEqual(self.s.request("DELETE", "/api/v1/files/it/del", headers=h).status, 404)

    def test_expiry(self):
        r = put(self.s, self.token, "it/ephemeral", b"gone soon", {"X-Expires-In": "1"})
        self.assertEqual(r.status, 201)
        self.assertIsNotNone(r.json()["expires_at"])
        self.assertEqual(put(self.s, self.token, "it/x", b"x", {"X-Expires-In": "soon"}).status, 400)
        time.sleep(1.6)
        self.assertEqual(self.get("it/ephemeral").status, 404)

    def test_copy_verify_and_stats(self):
        put(self.s, self.token, "it/orig", b"copy this")
        h = {"Authorization": "Bearer " + self.token}
        r = self.s.request("POST", "/api/v1/files/it/orig:copy", {"to_key": "it/copied"}, h)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.get("it/copied").body, b"copy this")
        r = self.s.request("POST", "/api/v1/files/it/orig:copy", {"to_key": "a", "to_backend": "b"}, h)
        self.assertEqual(r.status, 400)
        v = self.s.request("POST", "/api/v1/files/it/orig:verify", headers=h).json()
        self.assertTrue(v["ok"])
        st = self.s.request("GET", "/api/v1/storage/stats", headers=h).json()
        self.assertGreater(st["objects"], 0)
        self.assertEqual(st["backends"], ["local"])

    def test_permissions(self):
        r = self.s.request("POST", "/api/v1/users", {"username": "reader", "email": "r@example.com",
                                                     "password": "correct horse battery staple 9"},
                           {"Authorization": "Bearer " + self.token})
        self.assertEqual(r.status, 201)
        viewer = self.s.login("reader", "correct horse battery staple 9")
        put(self.s, self.token, "it/readable", b"x")
        self.assertEqual(self.s.request("GET", "/api/v1/files/it/readable",
                                        headers={"Authorization": "Bearer " + viewer}).status, 200)
        self.assertEqual(put(self.s, viewer, "it/nope", b"x").status, 403)

    def test_upload_refused_before_the_body_is_sent(self):
        # A client that waits for 100-continue never uploads when it is not allowed to.
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        conn.putrequest("PUT", "/api/v1/files/it/denied")
        conn.putheader("Content-Length", str(10 ** 9))
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        r = conn.getresponse()
        self.assertEqual(r.status, 401)
        conn.close()


@unittest.skipUnless(S3_URL or REQUIRE, "no S3 server (set C19AI_TEST_S3_URL)")
class S3AndEncryption(unittest.TestCase):
    def test_two_backends_copy_replication_and_encryption_at_rest(self):
        key_b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        s = Server(args=["--set", "storage.backends=local=file://./blobs,s3=" + S3_URL + "&part_size=5MiB",
                         "--set", "storage.encrypt=s3", "--set", "storage.encryption_keys=k1:" + key_b64],
                   env={"C19AI_S3_ACCESS_KEY": os.environ.get("C19AI_TEST_S3_ACCESS_KEY", "S3RVER"),
                        "C19AI_S3_SECRET_KEY": os.environ.get("C19AI_TEST_S3_SECRET_KEY", "S3RVER")})
        try:
            token = s.login()
            h = {"Authorization": "Bearer " + token}
            data = os.urandom(12 * 1024 * 1024)
            self.assertEqual(put(s, token, "big/one.bin", data).status, 201)
            r = s.request("POST", "/api/v1/files/big/one.bin:copy", {"to_backend": "s3"}, h)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["locations"], ["local", "s3"])
            v = s.request("POST", "/api/v1/files/big/one.bin:verify", headers=h).json()
            self.assertTrue(v["ok"], v)
            for i in range(3):
                put(s, token, "batch/%d" % i, b"item %d" % i)
            rep = s.request("POST", "/api/v1/storage/replications",
                            {"from_backend": "local", "to_backend": "s3", "prefix": "files/batch/"}, h)
            self.assertEqual(rep.status, 202, rep.body)
            deadline = time.time() + 20
            status = None
            while time.time() < deadline:
                status = s.request("GET", "/api/v1/storage/replications/" + rep.json()["id"], headers=h).json()
                if status["status"] != "running":
                    break
                time.sleep(0.2)
            self.assertEqual(status["status"], "completed", status)
            self.assertEqual(status["copied"], 3)
            stats = s.request("GET", "/api/v1/storage/stats", headers=h).json()
            self.assertIn("s3", [u["backend"] for u in stats["usage"]])
        finally:
            s.stop()

    def test_s3_as_primary(self):
        s = Server(args=["--storage", S3_URL + "&part_size=5MiB"],
                   env={"C19AI_S3_ACCESS_KEY": os.environ.get("C19AI_TEST_S3_ACCESS_KEY", "S3RVER"),
                        "C19AI_S3_SECRET_KEY": os.environ.get("C19AI_TEST_S3_SECRET_KEY", "S3RVER")})
        try:
            token = s.login()
            data = os.urandom(11 * 1024 * 1024 + 3)
            r = put(s, token, "s3/large.bin", data)
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(r.json()["backend"], "s3")
            g = s.request("GET", "/api/v1/files/s3/large.bin", headers={"Authorization": "Bearer " + token})
            self.assertEqual(hashlib.sha256(g.body).hexdigest(), hashlib.sha256(data).hexdigest())
            g = s.request("GET", "/api/v1/files/s3/large.bin",
                          headers={"Authorization": "Bearer " + token, "Range": "bytes=10000000-10000099"})
            self.assertEqual(g.body, data[10000000:10000100])
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
