"""Users, tokens, permissions and the audit trail over the real binary."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import ADMIN_PASSWORD, BACKEND, BIN, TEST_ARGS, Server, run_cli

PASSWORD = "correct horse battery staple 9"


class AuthApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.admin = cls.s.login()
        r = cls.s.call("POST", "/api/v1/users", cls.admin,
                       {"username": "vic", "email": "vic@example.com", "password": PASSWORD, "roles": ["viewer"]})
        assert r.status == 201, r.body
        cls.viewer = cls.s.login("vic", PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_every_route_refuses_anonymous_and_underprivileged_callers(self):
        doc = self.s.request("GET", "/api/v1/openapi.json").json()
        me = self.s.call("GET", "/api/v1/auth/me", self.viewer).json()
        viewer_perms = set(me["permissions"])
        checked = 0
        for path, item in doc["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", lambda m: "a/b" if m.group(0) == "{key}" else str(uuid.uuid4()), path)
            for method, op in item.items():
                perm = op["x-permission"]
                if perm == "public":
                    continue
                r = self.s.request(method.upper(), concrete, body="{}", headers={"Content-Type": "application/json"})
                self.assertEqual(r.status, 401, "%s %s anonymous: %s" % (method, path, r.body[:200]))
                self.assertEqual(r.json()["error"]["code"], "unauthenticated")
                if perm != "authenticated" and perm not in viewer_perms:
                    r = self.s.call(method.upper(), concrete, self.viewer, body={})
                    self.assertEqual(r.status, 403, "%s %s as viewer: %s" % (method, path, r.body[:200]))
                checked += 1
        self.assertGreater(checked, 20)

    def test_register_validation_and_duplicates(self):
        r = self.s.request("POST", "/api/v1/auth/register", {"username": "wendy", "email": "w@example.com",
                                                             "password": "short"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["details"]["field"], "password")
        r = self.s.request("POST", "/api/v1/auth/register", {"username": "wendy", "email": "w@example.com",
                                                             "password": PASSWORD, "is_admin": True})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["details"]["field"], "is_admin")
        r = self.s.request("POST", "/api/v1/auth/register", {"username": "wendy", "email": "w@example.com",
                                                             "password": PASSWORD})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["roles"], ["viewer"])
        self.assertNotIn("password", r.body.decode())
        r = self.s.request("POST", "/api/v1/auth/register", {"username": "WENDY", "email": "x@example.com",
                                                             "password": PASSWORD})
        self.assertEqual(r.status, 409)
        r = self.s.request("POST", "/api/v1/auth/register", body="{not json", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertIn("position", r.json()["error"]["details"])

    def test_very_long_and_hostile_fields(self):
        for field, value in [("username", "a" * 100000), ("email", "b" * 300 + "@x.com"),
                             ("username", "x'; DROP TABLE auth_users; --"), ("display_name", "\u0000bad")]:
            body = {"username": "zed" + uuid.uuid4().hex[:6], "email": uuid.uuid4().hex[:8] + "@example.com",
                    "password": PASSWORD}
            body[field] = value
            r = self.s.request("POST", "/api/v1/auth/register", body)
            self.assertIn(r.status, (400, 413), (field, r.status, r.body[:200]))
        r = self.s.request("POST", "/api/v1/auth/login", {"username": "' OR 1=1 --", "password": "x" * 5000})
        self.assertEqual(r.status, 401)
        self.assertEqual(self.s.call("GET", "/api/v1/users", self.admin).status, 200)

    def test_tokens_are_checked(self):
        self.assertEqual(self.s.call("GET", "/api/v1/auth/me", "not.a.token").status, 401)
        header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
        payload = self.admin.split(".")[1]
        self.assertEqual(self.s.call("GET", "/api/v1/auth/me", header + "." + payload + ".").status, 401)
        parts = self.admin.split(".")
        tampered = parts[0] + "." + parts[1] + "." + ("A" if parts[2][0] != "A" else "B") + parts[2][1:]
        self.assertEqual(self.s.call("GET", "/api/v1/auth/me", tampered).status, 401)
        r = self.s.request("GET", "/api/v1/auth/me", headers={"Authorization": "Basic YWRtaW46eA=="})
        self.assertEqual(r.status, 401)

    def test_me_lists_roles_and_permissions(self):
        me = self.s.call("GET", "/api/v1/auth/me", self.admin).json()
        self.assertIn("admin", me["roles"])
        self.assertIn("users:admin", me["permissions"])
        self.assertFalse(me["totp_enabled"])

    def test_api_keys(self):
        r = self.s.call("POST", "/api/v1/api-keys", self.viewer, {"name": "too much", "scopes": ["models:write"]})
        self.assertEqual(r.status, 403)
        r = self.s.call("POST", "/api/v1/api-keys", self.viewer, {"name": "ci", "scopes": ["models:read"]})
        self.assertEqual(r.status, 201, r.body)
        key = r.json()["key"]
        kid = r.json()["id"]
        me = self.s.request("GET", "/api/v1/auth/me", headers={"X-API-Key": key}).json()
        self.assertEqual(me["permissions"], ["models:read"])
        listed = self.s.call("GET", "/api/v1/api-keys", self.viewer).json()["items"]
        self.assertNotIn(key.split(".")[-1], json.dumps(listed))
        self.assertEqual(self.s.request("GET", "/api/v1/auth/me", headers={"X-API-Key": key + "x"}).status, 401)
        self.assertEqual(self.s.call("DELETE", "/api/v1/api-keys/" + kid, self.viewer).status, 204)
        deadline = time.time() + 5
        while time.time() < deadline:
            if self.s.request("GET", "/api/v1/auth/me", headers={"X-API-Key": key}).status == 401:
                break
            time.sleep(0.2)
        self.assertEqual(self.s.request("GET", "/api/v1/auth/me", headers={"X-API-Key": key}).status, 401)

    def test_refresh_rotation_and_logout(self):
        r = self.s.request("POST", "/api/v1/auth/login", {"username": "vic", "password": PASSWORD})
        pair = r.json()
        r = self.s.request("POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
        self.assertEqual(r.status, 200)
        new = r.json()
        self.assertNotEqual(new["refresh_token"], pair["refresh_token"])
        sessions = self.s.call("GET", "/api/v1/auth/sessions", new["access_token"]).json()["items"]
        self.assertTrue(any(s["current"] for s in sessions))
        self.assertEqual(self.s.call("POST", "/api/v1/auth/logout", new["access_token"]).status, 204)
        self.assertEqual(self.s.call("GET", "/api/v1/auth/me", new["access_token"]).status, 401)
        r = self.s.request("POST", "/api/v1/auth/refresh", {"refresh_token": new["refresh_token"]})
        self.assertEqual(r.status, 401)

    def test_deactivation_signs_the_user_out(self):
        self.s.call("POST", "/api/v1/users", self.admin, {"username": "xena", "email": "xena@example.com",
                                                          "password": PASSWORD})
        token = self.s.login("xena", PASSWORD)
        self.assertEqual(self.s.call("GET", "/api/v1/auth/me", token).status, 200)
        uid = [u for u in self.s.call("GET", "/api/v1/users?search=xena", self.admin).json()["items"]][0]["id"]
        r = self.s.call("PATCH", "/api/v1/users/" + uid, self.admin, {"is_active": False})
        self.assertEqual(r.status, 200)
        self.assertFalse(r.json()["is_active"])
        self.assertEqual(self.s.call("GET", "/api/v1/auth/me", token).status, 401)
        r = self.s.request("POST", "/api/v1/auth/login", {"username": "xena", "password": PASSWORD})
        self.assertEqual(r.status, 401)

    def test_custom_roles(self):
        r = self.s.call("POST", "/api/v1/roles", self.admin,
                        {"name": "labelers", "description": "label data", "permissions": ["datasets:write"]})
        self.assertEqual(r.status, 201, r.body)
        r = self.s.call("PATCH", "/api/v1/roles/viewer", self.admin, {"description": "x"})
        self.assertEqual(r.status, 412)
        r = self.s.call("POST", "/api/v1/roles", self.admin, {"name": "bad", "permissions": ["rockets:launch"]})
        self.assertEqual(r.status, 400)
        self.assertIn("users:admin", self.s.call("GET", "/api/v1/permissions", self.admin).json()["items"])
        self.assertEqual(self.s.call("DELETE", "/api/v1/roles/labelers", self.admin).status, 204)

    def test_audit_records_changes_and_denials(self):
        self.s.call("POST", "/api/v1/users", self.viewer, {"username": "evil", "email": "e@example.com",
                                                           "password": PASSWORD})
        deadline = time.time() + 5
        entries = []
        while time.time() < deadline:
            entries = self.s.call("GET", "/api/v1/audit?limit=1000", self.admin).json()["items"]
            if any(e["action"] == "user.create" and e["outcome"] == "denied" for e in entries):
                break
            time.sleep(0.2)
        created = [e for e in entries if e["action"] == "user.create" and e["outcome"] == "success"]
        self.assertTrue(created, entries[:5])
        self.assertEqual(created[-1]["actor"], "admin")
        self.assertTrue(created[-1]["request_id"])
        denied = [e for e in entries if e["action"] == "user.create" and e["outcome"] == "denied"]
        self.assertEqual(denied[0]["actor"], "vic")
        self.assertNotIn(PASSWORD, json.dumps(entries))
        self.assertNotIn(ADMIN_PASSWORD, json.dumps(entries))
        logins = self.s.call("GET", "/api/v1/audit?action=auth.login&limit=5", self.admin).json()["items"]
        self.assertTrue(all(e["action"] == "auth.login" for e in logins))
        self.assertEqual(self.s.call("GET", "/api/v1/audit?since=yesterday", self.admin).status, 400)
        self.assertEqual(self.s.call("GET", "/api/v1/audit?limit=0", self.admin).status, 400)

    def test_pagination(self):
        for i in range(3):
            self.s.call("POST", "/api/v1/users", self.admin,
                        {"username": "page%d" % i, "email": "page%d@example.com" % i, "password": PASSWORD})
        first = self.s.call("GET", "/api/v1/users?search=page&limit=2", self.admin).json()
        self.assertEqual(len(first["items"]), 2)
        self.assertTrue(first["next_page_token"])
        second = self.s.call("GET", "/api/v1/users?search=page&limit=2&page_token=" + first["next_page_token"],
                             self.admin).json()
        self.assertEqual(len(second["items"]), 1)
        self.assertEqual(self.s.call("GET", "/api/v1/users?page_token=bogus", self.admin).status, 400)

    def test_secrets_never_reach_the_log(self):
        self.s.request("POST", "/api/v1/auth/login", {"username": "vic", "password": PASSWORD})
        time.sleep(0.3)
        log = self.s.read_log()
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn(ADMIN_PASSWORD, log)
        self.assertNotIn(self.admin, log)


class Throttling(unittest.TestCase):
    def test_login_is_throttled_with_retry_after(self):
        s = Server(args=["--set", "auth.login_max_failures=3", "--set", "auth.lockout_base=5s"])
        try:
            for _ in range(3):
                r = s.request("POST", "/api/v1/auth/login", {"username": "admin", "password": "wrong password!!"})
                self.assertEqual(r.status, 401)
            r = s.request("POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
            self.assertEqual(r.status, 429)
            self.assertIn(r.headers["retry-after"], ("4", "5"))
            self.assertEqual(r.json()["error"]["code"], "resource_exhausted")
        finally:
            s.stop()


class Bootstrap(unittest.TestCase):
    def test_without_admin_password_the_server_says_how_to_create_one(self):
        s = Server(admin=False)
        try:
            time.sleep(0.3)
            self.assertIn("c19ai user create --admin", s.read_log())
        finally:
            s.stop()

    def test_cli_user_commands(self):
        with tempfile.TemporaryDirectory() as d:
            base = ["--data-dir", d] + TEST_ARGS
            def cli(*args, stdin=None):
                full = {k: v for k, v in os.environ.items() if not k.startswith("C19AI_")}
                return subprocess.run([BIN, "user", *args, *base], input=stdin, capture_output=True, text=True,
                                      env=full, timeout=60)
            r = cli("create", "--admin", "--username", "root", "--email", "root@example.com", "--password-stdin",
                    stdin=PASSWORD + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("admin", r.stdout)
            r = cli("create", "--username", "ann", "--email", "ann@example.com", "--password-stdin", stdin="weak\n")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("password must be at least", r.stderr)
            r = cli("create", "--username", "ann", "--email", "ann@example.com", "--password-stdin",
                    stdin=PASSWORD + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = cli("set-roles", "ann", "ml_engineer")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("ml_engineer", r.stdout)
            r = cli("reset-password", "ann", "--password-stdin", stdin="another fine passphrase\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = cli("deactivate", "ann")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("inactive", r.stdout)
            r = cli("list")
            self.assertIn("root", r.stdout)
            self.assertIn("ann", r.stdout)
            r = cli("deactivate", "nobody")
            self.assertNotEqual(r.returncode, 0)
            if BACKEND == "sqlite":
                s = Server(database_url="sqlite://" + d + "/c19ai.db", admin=False)
                try:
                    token = s.login("root", PASSWORD)
                    audit = s.call("GET", "/api/v1/audit?action=user.*", token).json()["items"]
                    self.assertTrue(any(e["actor"].startswith("cli:") for e in audit))
                finally:
                    s.stop()


if __name__ == "__main__":
    unittest.main()
