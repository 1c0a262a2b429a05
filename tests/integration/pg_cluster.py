"""A private PostgreSQL cluster on a free port, for tests that stop and restart the server."""
import os
import shutil
import subprocess
import tempfile

from harness import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"


def _as_postgres(cmd):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


class PgCluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="c19ai-pg-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")
        _as_postgres([PG_BIN + "/initdb", "-D", self.data, "-U", "postgres", "--auth=trust"])
        self.start()
        self.url = "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def start(self):
        _as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                      "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.dir), "start"])

    def stop(self):
        _as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
