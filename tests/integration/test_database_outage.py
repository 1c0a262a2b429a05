"""A database that goes down: /ready answers 503 naming it, and service recovers when it returns."""
import os
import time
import unittest

from harness import BACKEND, Server
from pg_cluster import PG_BIN, PgCluster


@unittest.skipUnless(BACKEND == "postgres", "needs a PostgreSQL server the test can stop")
class DatabaseOutage(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(PG_BIN + "/initdb"):
            self.skipTest("PostgreSQL server binaries are not installed")
        self.pg = PgCluster()
        self.server = Server(database_url=self.pg.url)

    def tearDown(self):
        self.server.stop()
        self.pg.destroy()

    def wait_status(self, path, want, timeout=15):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.server.request("GET", path)
            if last.status == want:
                return last
            time.sleep(0.2)
        self.fail("%s stayed %s (wanted %s): %s" % (path, last.status, want, last.body[:300]))

    def test_ready_reports_the_outage_and_recovers(self):
        self.assertEqual(self.server.request("GET", "/ready").status, 200)
        self.pg.stop()
        r = self.wait_status("/ready", 503)
        body = r.json()
        self.assertEqual(body["status"], "unavailable")
        self.assertEqual(body["checks"]["database"]["status"], "unavailable")
        self.assertIn("error", body["checks"]["database"])
        self.assertEqual(r.headers.get("retry-after"), "1")
        # The process itself stays alive and answers; requests that need the database say so.
        self.assertEqual(self.server.request("GET", "/health").status, 200)
        login = self.server.request("POST", "/api/v1/auth/login", {"username": "admin", "password": "x" * 12})
        self.assertEqual(login.status, 503, login.body)
        self.assertEqual(login.json()["error"]["code"], "unavailable")
        self.pg.start()
        self.wait_status("/ready", 200)
        self.assertEqual(self.server.request("GET", "/api/v1/system/info").status, 200)
        self.server.login()


if __name__ == "__main__":
    unittest.main()
