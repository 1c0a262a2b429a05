"""Starts the real c19ai binary on a free loopback port and talks HTTP to it (stdlib only)."""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("C19AI_BIN", os.path.join(os.path.dirname(__file__), "../../build/c19ai"))
BACKEND = os.environ.get("C19AI_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("C19AI_TEST_POSTGRES_URL", "")
REQUIRE = os.environ.get("C19AI_TEST_REQUIRE_SERVERS") == "1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(url, sql):
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def fresh_postgres_database():
    """A new empty database on the CI server; returns (url, drop function)."""
    name = "c19ai_it_%d" % random.randrange(10**9)
    psql(PG_URL, "CREATE DATABASE " + name)
    base = PG_URL.rsplit("/", 1)[0]
    return base + "/" + name, lambda: psql(PG_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)


ADMIN_PASSWORD = "Integration-admin-2026!"
# A documented low-cost Argon2id setting for tests only (production defaults are 64 MiB, 3 passes).
TEST_ARGS = ["--set", "auth.argon2_memory=1MiB", "--set", "auth.argon2_iterations=1"]


class Server:
    """One c19ai process with its own data folder and database."""

    def __init__(self, database_url=None, args=(), env=None, admin=True):
        self.dir = tempfile.mkdtemp(prefix="c19ai-it-")
        self.port = free_port()
        self.cleanup = []
        if database_url is None and BACKEND == "postgres":
            if not PG_URL:
                if REQUIRE:
                    raise RuntimeError("C19AI_TEST_POSTGRES_URL is not set")
                raise unittest.SkipTest("no PostgreSQL server")
            database_url, drop = fresh_postgres_database()
            self.cleanup.append(drop)
        self.database_url = database_url
        cmd = [BIN, "serve", "--port", str(self.port), "--data-dir", self.dir]
        if database_url:
            cmd += ["--database", database_url]
        cmd += TEST_ARGS + list(args)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("C19AI_")}
        if admin:
            full_env["C19AI_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        full_env.update(env or {})
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                if self.request("GET", "/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not come up:\n" + self.read_log())

    def read_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = dict(headers or {}, **{"Content-Type": "application/json"})
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def login(self, username="admin", password=ADMIN_PASSWORD):
        r = self.request("POST", "/api/v1/auth/login", {"username": username, "password": password})
        if r.status != 200:
            raise AssertionError("login as %s: %s %s" % (username, r.status, r.body[:300]))
        return r.json()["access_token"]

    def call(self, method, path, token=None, body=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        return self.request(method, path, body, h)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        for c in self.cleanup:
            c()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


def run_cli(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("C19AI_")}
    full_env.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)
