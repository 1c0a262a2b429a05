"""The queue's operator routes over the real binary (database backend, and Redis when available)."""
import os
import unittest

from harness import Server

REDIS_URL = os.environ.get("C19AI_TEST_REDIS_URL", "")
REQUIRE = os.environ.get("C19AI_TEST_REQUIRE_SERVERS") == "1"


class QueueApi(unittest.TestCase):
    def check(self, server, backend):
        import uuid
        topic = "it-" + uuid.uuid4().hex[:12]  # Redis is shared between runs
        token = server.login()
        h = {"Authorization": "Bearer " + token}
        r = server.request("POST", "/api/v1/queues/" + topic + "/messages",
                           {"body": {"job": 1}, "priority": "high", "headers": {"kind": "test"},
                            "idempotency_key": "k1"}, h)
        self.assertEqual(r.status, 201, r.body)
        again = server.request("POST", "/api/v1/queues/" + topic + "/messages", {"body": "dup", "idempotency_key": "k1"}, h)
        self.assertEqual(again.json()["id"], r.json()["id"])
        self.assertEqual(server.request("POST", "/api/v1/queues/" + topic + "/messages", {"body": "x", "priority": "urgent"},
                                        h).status, 400)
        self.assertEqual(server.request("POST", "/api/v1/queues/bad%20topic!/messages", {"body": "x"}, h).status, 400)
        stats = server.request("GET", "/api/v1/queues", headers=h).json()
        self.assertEqual(stats["backend"], backend)
        mine = [t for t in stats["items"] if t["topic"] == topic]
        self.assertEqual(mine[0]["ready"], 1)
        dead = server.request("GET", "/api/v1/queues/" + topic + "/dead-letters", headers=h).json()
        self.assertEqual(dead["items"], [])
        red = server.request("POST", "/api/v1/queues/" + topic + "/dead-letters:redrive", {}, h).json()
        self.assertEqual(red["redriven"], 0)
        metrics = server.request("GET", "/metrics").body.decode()
        self.assertIn('c19ai_queue_ready{topic="%s"' % topic, metrics)

    def test_database_queue(self):
        s = Server()
        try:
            self.check(s, "db")
        finally:
            s.stop()

    @unittest.skipUnless(REDIS_URL or REQUIRE, "no Redis server")
    def test_redis_queue(self):
        s = Server(args=["--queue", REDIS_URL])
        try:
            self.check(s, "redis")
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
