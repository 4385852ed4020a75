"""Run a command with the app's database connections going through a private PgBouncer in
transaction mode, as production should (at most 20 server connections per database and
user): `python scripts/pgbouncer.py -- pytest tests/test_identity_flow.py`.

PgBouncer listens on a free loopback port in front of DATABASE_URL's server; the command
gets DB_APP_HOST, DB_APP_PORT and DB_TRANSACTION_POOLING=1, so the API, workers and tests
it starts connect through it, while migrations (the owner URL) still go direct. The
pooler is stopped when the command ends; the command's exit status is returned.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

sys.path.insert(0, os.getcwd())

from core.settings import get_settings

SERVER_CONNECTIONS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(*, port: int, server_host: str, server_port: int, directory: Path) -> str:
    return f"""[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/users.txt
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_db_connections = {SERVER_CONNECTIONS}
max_client_conn = 2000
server_reset_query =
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


@contextlib.contextmanager
def pgbouncer() -> Iterator[int]:
    """A PgBouncer of this process's own; yields its port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    settings = get_settings()
    server = make_url(settings.database_url)
    users = {server.username or "postgres", settings.db_app_role}
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="omniroute-pgbouncer-") as tmp:
        directory = Path(tmp)
        directory.chmod(0o755)
        (directory / "users.txt").write_text("".join(f'"{u}" ""\n' for u in sorted(users)))
        ini = directory / "pgbouncer.ini"
        ini.write_text(
            config(
                port=port,
                server_host=server.host or "127.0.0.1",
                server_port=server.port or 5432,
                directory=directory,
            )
        )
        command = [binary, str(ini)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            shutil.chown(directory, "postgres")
            command[1:1] = ["-u", "postgres"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    log = directory / "pgbouncer.log"
                    raise SystemExit(f"pgbouncer did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=15)


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print(__doc__)
        return 2
    with pgbouncer() as port:
        env = {
            **os.environ,
            "DB_APP_HOST": "127.0.0.1",
            "DB_APP_PORT": str(port),
            "DB_TRANSACTION_POOLING": "1",
        }
        print(f"[pgbouncer] transaction pooling on 127.0.0.1:{port}", flush=True)
        return subprocess.run(args, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
