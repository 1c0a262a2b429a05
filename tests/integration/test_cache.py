"""Cache statistics and flushing over the real binary, with the memory cache and with Redis."""
import os
import unittest

from harness import Server

REDIS_URL = os.environ.get("C19AI_TEST_REDIS_URL", "")
REQUIRE = os.environ.get("C19AI_TEST_REQUIRE_SERVERS") == "1"


class CacheApi(unittest.TestCase):
    def check(self, server, backend):
        token = server.login()
        h = {"Authorization": "Bearer " + token}
        for _ in range(3):
            self.assertEqual(server.request("GET", "/api/v1/auth/me", headers=h).status, 200)
        st = server.request("GET", "/api/v1/cache/stats", headers=h).json()
        self.assertEqual(st["backend"], backend)
        auth = [n for n in st["namespaces"] if n["name"] == "auth"]
        self.assertTrue(auth and auth[0]["hits"] >= 1, st)
        metrics = server.request("GET", "/metrics").body.decode()
        self.assertIn('c19ai_cache_hits_total{namespace="auth"', metrics)
        r = server.request("DELETE", "/api/v1/cache/auth", headers=h)
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(r.json()["deleted"], 1)
        # Flushed sessions are simply looked up again.
        self.assertEqual(server.request("GET", "/api/v1/auth/me", headers=h).status, 200)

    def test_memory(self):
        s = Server()
        try:
            self.check(s, "memory")
        finally:
            s.stop()

    @unittest.skipUnless(REDIS_URL or REQUIRE, "no Redis server (set C19AI_TEST_REDIS_URL)")
    def test_redis(self):
        s = Server(args=["--cache", REDIS_URL])
        try:
            self.check(s, "memory+redis")
            info = s.request("GET", "/api/v1/system/info").json()
            self.assertEqual(info["backends"]["cache"], "redis")
        finally:
            s.stop()

    @unittest.skipUnless(REDIS_URL or REQUIRE, "no Redis server (set C19AI_TEST_REDIS_URL)")
    def test_redis_down_is_not_an_error(self):
        s = Server(args=["--cache", "redis://127.0.0.1:1"])
        try:
            token = s.login()
            for _ in range(5):
                self.assertEqual(s.call("GET", "/api/v1/auth/me", token).status, 200)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
