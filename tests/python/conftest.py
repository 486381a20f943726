"""Shared fixtures of the real-client tests: a real `odradek serve` process per test.

Contract: every test gets its own broker on a free 127.0.0.1 port with its own data
directory; the broker is killed by PID when the test ends (and its log is printed if the
test failed), so no test can see another's topics and a hung broker never outlives its
test. The binary comes from $ODRADEK_BIN (tests/run sets it after building it).
"""

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0


def odradek_binary():
    """The broker binary under test: $ODRADEK_BIN, else a built one in target/."""
    explicit = os.environ.get("ODRADEK_BIN")
    if explicit:
        return explicit
    for profile in ("release", "debug"):
        candidate = REPO / "target" / profile / "odradek"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("set ODRADEK_BIN to the odradek binary (tests/run does)")


def free_port():
    """A port the OS says is free on 127.0.0.1 right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """One `odradek serve` process; it can be killed with SIGKILL and restarted on the
    same port and data directory (the crash test)."""

    def __init__(self, data_dir, log_path, extra_args=()):
        self.port = free_port()
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.extra_args = list(extra_args)
        self.process = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        command = [
            odradek_binary(),
            "serve",
            "--listen",
            self.bootstrap,
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        log = open(self.log_path, "ab")
        log.write(f"\n--- start: {' '.join(command)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_until_accepting()

    def wait_until_accepting(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"odradek serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"odradek serve did not accept within {STARTUP_TIMEOUT_S}s")

    def kill9(self):
        """SIGKILL: no graceful shutdown, no final sync."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


def make_broker(request, tmp_path, extra_args=()):
    broker = Broker(tmp_path / "data", tmp_path / "broker.log", extra_args)

    def finish():
        broker.stop()
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            print(f"\n--- odradek log ({broker.log_path}):\n{broker.log_tail()}")

    request.addfinalizer(finish)
    broker.start()
    return broker


@pytest.fixture
def broker(request, tmp_path):
    """A running broker with default settings."""
    return make_broker(request, tmp_path)


@pytest.fixture
def durable_broker(request, tmp_path):
    """A running broker that fsyncs every batch before acknowledging (not yet started
    again after a kill: the test restarts it)."""
    return make_broker(request, tmp_path, ["--flush", "every-batch"])


@pytest.fixture
def topic_name():
    """A fresh topic name per test."""
    return "t-" + uuid.uuid4().hex[:12]
