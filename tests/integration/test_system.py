"""The spine over the real binary: system endpoints, errors, config, CLI, shutdown."""
import json
import os
import signal
import socket
import tempfile
import time
import unittest

from harness import BACKEND, Server, run_cli, free_port


class SystemEndpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_health_and_ready(self):
        r = self.server.request("GET", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        r = self.server.request("GET", "/ready")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["checks"]["database"]["status"], "ok")
        self.assertEqual(r.json()["checks"]["database"]["backend"], "sqlite" if BACKEND == "sqlite" else "postgresql")

    def test_system_info_names_backends(self):
        info = self.server.request("GET", "/api/v1/system/info").json()
        self.assertEqual(info["backends"]["database"], "sqlite" if BACKEND == "sqlite" else "postgresql")
        self.assertEqual(info["mode"], "embedded" if BACKEND == "sqlite" else "distributed")
        self.assertIn("version", info)
        self.assertGreaterEqual(info["uptime_seconds"], 0)

    def test_metrics_count_requests_per_route(self):
        for _ in range(3):
            self.server.request("GET", "/api/v1/system/info")
        text = self.server.request("GET", "/metrics").body.decode()
        self.assertIn("# TYPE c19ai_http_requests_total counter", text)
        line = [l for l in text.splitlines()
                if l.startswith('c19ai_http_requests_total{method="GET",route="/api/v1/system/info",status="2xx"}')]
        self.assertEqual(len(line), 1, text[:2000])
        self.assertGreaterEqual(float(line[0].split()[-1]), 3)
        self.assertIn("# TYPE c19ai_http_request_duration_seconds histogram", text)
        self.assertIn("process_resident_memory_bytes", text)
        self.assertIn("c19ai_http_in_flight_requests", text)

    def test_openapi_document(self):
        doc = self.server.request("GET", "/api/v1/openapi.json").json()
        self.assertTrue(doc["openapi"].startswith("3.1"))
        self.assertIn("/health", doc["paths"])

    def test_unknown_route_and_wrong_method(self):
        r = self.server.request("GET", "/api/v1/nope")
        self.assertEqual(r.status, 404)
        err = r.json()["error"]
        self.assertEqual(err["code"], "not_found")
        self.assertEqual(err["request_id"], r.headers["x-request-id"])
        r = self.server.request("DELETE", "/health")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers["allow"], "GET, HEAD")

    def test_request_id_is_honoured(self):
        r = self.server.request("GET", "/api/v1/nope", headers={"X-Request-Id": "it-trace-1"})
        self.assertEqual(r.headers["x-request-id"], "it-trace-1")
        self.assertEqual(r.json()["error"]["request_id"], "it-trace-1")

    def test_security_headers(self):
        r = self.server.request("GET", "/health")
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        self.assertIn("default-src 'none'", r.headers["content-security-policy"])

    def test_malformed_http_gets_400(self):
        s = socket.create_connection(("127.0.0.1", self.server.port))
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data)

    def test_access_log_is_json_with_latency(self):
        self.server.request("GET", "/health", headers={"X-Request-Id": "log-probe-7"})
        deadline = time.time() + 5
        while time.time() < deadline:
            lines = [l for l in self.server.read_log().splitlines() if "log-probe-7" in l]
            if lines:
                entry = json.loads(lines[0])
                self.assertEqual(entry["msg"], "request")
                self.assertEqual(entry["status"], 200)
                self.assertIn("latency_ms", entry)
                return
            time.sleep(0.1)
        self.fail("no access log line for the request")


class Configuration(unittest.TestCase):
    def test_invalid_config_fails_at_start_naming_the_key(self):
        with tempfile.TemporaryDirectory() as d:
            r = run_cli("serve", "--data-dir", d, env={"C19AI_SERVER_WORKER_THREADS": "many"})
            self.assertEqual(r.returncode, 2)
            self.assertIn("server.worker_threads", r.stderr)
            self.assertIn("C19AI_SERVER_WORKER_THREADS", r.stderr)
            cfg = os.path.join(d, "c.toml")
            with open(cfg, "w") as f:
                f.write("[server]\nprot = 1\n")
            r = run_cli("serve", "--config", cfg, "--data-dir", d)
            self.assertEqual(r.returncode, 2)
            self.assertIn('unknown configuration key "server.prot"', r.stderr)

    def test_config_show_masks_secrets(self):
        r = run_cli("config", "show", "--sources", "--database", "postgresql://app:hunter2@db.internal/c19",
                    env={"C19AI_SERVER_PORT": "9999"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("hunter2", r.stdout)
        self.assertIn("postgresql://****@db.internal/c19", r.stdout)
        port = [l for l in r.stdout.splitlines() if l.startswith("server.port")][0]
        self.assertIn("9999", port)
        self.assertIn("env C19AI_SERVER_PORT", port)

    def test_default_data_folder(self):
        with tempfile.TemporaryDirectory() as d:
            r = run_cli("config", "show", cwd=d)
            self.assertIn("sqlite://./c19ai-data/c19ai.db", r.stdout)
            self.assertIn("127.0.0.1", [l for l in r.stdout.splitlines() if l.startswith("server.host")][0])

    def test_help_on_every_command(self):
        for cmd in (["--help"], ["serve", "--help"], ["migrate", "--help"], ["config", "show", "--help"],
                    ["version", "--help"]):
            r = run_cli(*cmd)
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("Usage", r.stdout)

    def test_version(self):
        r = run_cli("version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("c19ai "))


class Lifecycle(unittest.TestCase):
    def test_migrate_is_idempotent(self):
        with tempfile.TemporaryDirectory() as d:
            args = ["migrate", "--data-dir", d]
            first = run_cli(*args)
            self.assertEqual(first.returncode, 0, first.stderr)
            second = run_cli(*args)
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertIn("0 migration(s) applied", second.stdout)

    def test_sigterm_stops_cleanly(self):
        s = Server()
        self.assertEqual(s.request("GET", "/health").status, 200)
        code = s.stop(signal.SIGTERM)
        self.assertEqual(code, 0)

    def test_port_in_use_is_a_clear_error(self):
        s = Server()
        try:
            with tempfile.TemporaryDirectory() as d:
                r = run_cli("serve", "--port", str(s.port), "--data-dir", d)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("cannot listen", r.stderr)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
