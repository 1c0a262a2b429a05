"""The WebSocket protocol over the real binary: auth, rooms, permissions, replay, presence, limits."""
import json
import os
import time
import unittest

from harness import Server
from ws_client import Closed, WsClient

PASSWORD = "correct horse battery staple 9"


class Realtime(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(args=["--set", "realtime.auth_timeout=1s", "--set", "realtime.max_connections_per_user=3",
                             "--set", "realtime.max_queued_bytes=64KiB"])
        cls.admin = cls.s.login()
        r = cls.s.call("POST", "/api/v1/users", cls.admin,
                       {"username": "viv", "email": "viv@example.com", "password": PASSWORD, "roles": ["viewer"]})
        assert r.status == 201, r.body
        cls.viewer_id = r.json()["id"]
        cls.viewer = cls.s.login("viv", PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def connect(self, token=None, protocols=None):
        ws = WsClient(self.s.port, protocols=protocols)
        if token:
            ws.send({"op": "auth", "token": token})
            ack = ws.recv()
            self.assertEqual(ack["type"], "ack", ack)
        return ws

    def broadcast(self, room="system", data=None, type_="test.event"):
        r = self.s.call("POST", "/api/v1/realtime/broadcast", self.admin, {"room": room, "type": type_,
                                                                            "data": data or {}})
        self.assertEqual(r.status, 202, r.body)

    def test_first_message_auth_subscribe_and_receive(self):
        ws = self.connect(self.viewer)
        ws.send({"op": "subscribe", "room": "system"})
        self.assertEqual(ws.recv()["type"], "ack")
        self.broadcast(data={"hello": 1})
        e = ws.expect(lambda m: m.get("type") == "test.event")
        self.assertEqual(e["room"], "system")
        self.assertEqual(e["data"], {"hello": 1})
        self.assertTrue(e["id"].startswith("system:"))
        self.assertIn("ts", e)
        ws.send({"op": "ping"})
        self.assertEqual(ws.expect(lambda m: m.get("type") == "pong")["type"], "pong")
        ws.close()

    def test_bearer_subprotocol(self):
        ws = WsClient(self.s.port, protocols=["c19ai.v1", "bearer." + self.viewer])
        self.assertEqual(ws.headers.get("sec-websocket-protocol"), "c19ai.v1")
        ack = ws.recv()
        self.assertEqual(ack["type"], "ack")
        self.assertEqual(ack["username"], "viv")
        ws.close()

    def test_no_auth_in_time_or_bad_token_closes_4001(self):
        ws = WsClient(self.s.port)
        with self.assertRaises(Closed) as c:
            ws.recv(timeout=5)
        self.assertEqual(c.exception.code, 4001)
        ws = WsClient(self.s.port)
        ws.send({"op": "auth", "token": "not-a-token"})
        with self.assertRaises(Closed) as c:
            ws.expect(lambda m: False, timeout=5)
        self.assertEqual(c.exception.code, 4001)

    def test_ops_before_auth_are_refused(self):
        ws = WsClient(self.s.port)
        ws.send({"op": "subscribe", "room": "system"})
        self.assertEqual(ws.recv()["code"], "unauthenticated")
        ws.close()

    def test_rooms_need_permission_and_repeated_refusals_close_4003(self):
        ws = self.connect(self.viewer)
        ws.send({"op": "subscribe", "room": "user." + self.viewer_id})
        self.assertEqual(ws.recv()["type"], "ack")  # their own room
        ws.send({"op": "subscribe", "room": "nonsense"})
        self.assertEqual(ws.recv()["code"], "invalid_argument")
        for _ in range(2):
            ws.send({"op": "subscribe", "room": "user.someone-else"})
            self.assertEqual(ws.recv()["code"], "permission_denied")
        ws.send({"op": "subscribe", "room": "user.someone-else"})
        with self.assertRaises(Closed) as c:
            ws.expect(lambda m: False, timeout=5)
        self.assertEqual(c.exception.code, 4003)

    def test_reconnect_with_since_replays_missed_events(self):
        room = "training.replay-job"
        ws = self.connect(self.admin)
        ws.send({"op": "subscribe", "room": room})
        ws.recv()
        for i in range(3):
            self.broadcast(room=room, data={"i": i}, type_="training.job.progress")
        first = ws.expect(lambda m: m.get("data") == {"i": 0})
        ws.close()
        again = self.connect(self.admin)
        again.send({"op": "subscribe", "room": room, "since": first["id"]})
        self.assertEqual(again.recv()["type"], "ack")
        self.assertEqual(again.recv()["data"], {"i": 1})
        self.assertEqual(again.recv()["data"], {"i": 2})
        again.send({"op": "subscribe", "room": room, "since": room + ":999999"})
        again.recv()
        self.assertEqual(again.recv()["type"], "resync")
        again.close()

    def test_presence_lists_connected_users(self):
        a = self.connect(self.admin)
        b = self.connect(self.viewer)
        for ws in (a, b):
            ws.send({"op": "subscribe", "room": "models"})
            ws.recv()
        a.send({"op": "presence", "room": "models"})
        p = a.recv()
        self.assertEqual(p["type"], "presence")
        self.assertEqual(sorted(u["username"] for u in p["users"]), ["admin", "viv"])
        a.close()
        b.close()

    def test_token_renewal_on_an_open_socket(self):
        ws = self.connect(self.viewer)
        ws.send({"op": "auth", "token": self.s.login("viv", PASSWORD)})
        ack = ws.recv()
        self.assertEqual(ack["type"], "ack")
        self.assertTrue(ack["renewed"])
        ws.close()

    def test_per_user_connection_limit_4009(self):
        token = self.s.login("viv", PASSWORD)
        held = [self.connect(token) for _ in range(3)]
        extra = WsClient(self.s.port)
        extra.send({"op": "auth", "token": token})
        with self.assertRaises(Closed) as c:
            extra.expect(lambda m: False, timeout=5)
        self.assertEqual(c.exception.code, 4009)
        for ws in held:
            ws.close()

    def test_slow_reader_is_disconnected_4008(self):
        ws = self.connect(self.admin)
        ws.send({"op": "subscribe", "room": "training.flood"})
        ws.recv()
        ws.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
        blob = "x" * 50000
        for _ in range(400):  # ~20 MB that the client does not read
            self.broadcast(room="training.flood", data={"blob": blob})
        metrics = self.s.request("GET", "/metrics").body.decode()
        line = [l for l in metrics.splitlines() if l.startswith("c19ai_websocket_slow_disconnects_total")]
        self.assertTrue(line and float(line[0].split()[-1]) >= 1, line)
        with self.assertRaises(Closed):
            while True:
                ws.recv(timeout=5)

    def test_deactivated_users_lose_their_sockets(self):
        r = self.s.call("POST", "/api/v1/users", self.admin, {"username": "tmp", "email": "tmp@example.com",
                                                              "password": PASSWORD})
        uid = r.json()["id"]
        ws = self.connect(self.s.login("tmp", PASSWORD))
        self.s.call("PATCH", "/api/v1/users/" + uid, self.admin, {"is_active": False})
        with self.assertRaises(Closed) as c:
            ws.expect(lambda m: False, timeout=5)
        self.assertEqual(c.exception.code, 4001)

    def test_plain_get_needs_credentials_then_an_upgrade(self):
        self.assertEqual(self.s.request("GET", "/api/v1/ws").status, 401)
        self.assertEqual(self.s.call("GET", "/api/v1/ws", self.viewer).status, 426)

    def test_broadcast_needs_system_admin(self):
        r = self.s.call("POST", "/api/v1/realtime/broadcast", self.viewer, {"data": {}})
        self.assertEqual(r.status, 403)
        r = self.s.call("POST", "/api/v1/realtime/broadcast", self.admin, {"room": "bogus"})
        self.assertEqual(r.status, 400)


REDIS_URL = os.environ.get("C19AI_TEST_REDIS_URL", "")
PG_URL = os.environ.get("C19AI_TEST_POSTGRES_URL", "")
REQUIRE = os.environ.get("C19AI_TEST_REQUIRE_SERVERS") == "1"


class TwoReplicas(unittest.TestCase):
    """Events published on one replica reach WebSocket clients of another."""

    def check(self, events_url):
        import tempfile
        d = tempfile.mkdtemp(prefix="c19ai-shared-")
        db = "sqlite://" + d + "/shared.db"
        a = Server(database_url=db, args=["--events", events_url])
        b = Server(database_url=db, args=["--events", events_url], admin=False)
        try:
            token = a.login()
            ws = WsClient(a.port)
            ws.send({"op": "auth", "token": token})
            ws.recv()
            ws.send({"op": "subscribe", "room": "deployments"})
            ws.recv()
            r = b.call("POST", "/api/v1/realtime/broadcast", b.login(),
                       {"room": "deployments", "type": "deployment.changed", "data": {"from": "b"}})
            self.assertEqual(r.status, 202)
            e = ws.expect(lambda m: m.get("type") == "deployment.changed")
            self.assertEqual(e["data"], {"from": "b"})
            ws.close()
        finally:
            a.stop()
            b.stop()

    @unittest.skipUnless(REDIS_URL or REQUIRE, "no Redis server")
    def test_through_redis(self):
        self.check(REDIS_URL)

    @unittest.skipUnless(PG_URL or REQUIRE, "no PostgreSQL server")
    def test_through_postgres(self):
        self.check(PG_URL)


if __name__ == "__main__":
    unittest.main()
