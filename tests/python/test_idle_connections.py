"""`--connections-max-idle-ms` end to end: the broker closes a connection that stays silent
for longer, while a client that keeps sending requests on its connection is served across
several idle periods."""

import socket
import struct
import time

from clientcheck import TIMEOUT_S
from conftest import make_broker

IDLE_MS = 800


def test_a_silent_connection_is_closed_after_the_idle_time(request, tmp_path):
    broker = make_broker(request, tmp_path, ["--connections-max-idle-ms", str(IDLE_MS)])
    with socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S) as sock:
        opened = time.monotonic()
        assert sock.recv(1) == b"", "the broker closes the connection (end of stream)"
        waited = time.monotonic() - opened
    assert waited >= IDLE_MS / 1000 * 0.9, f"closed after {waited:.3f}s, before the idle time"


def api_versions_v0(correlation_id):
    """An ApiVersions v0 request frame (header only; the body is empty)."""
    header = struct.pack(">hhih", 18, 0, correlation_id, -1)
    return struct.pack(">i", len(header)) + header


def read_frame(sock):
    size = struct.unpack(">i", recv_exactly(sock, 4))[0]
    return recv_exactly(sock, size)


def recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "the broker closed a connection that was in use"
        data += chunk
    return data


def test_a_connection_in_use_stays_open_across_several_idle_times(request, tmp_path):
    broker = make_broker(request, tmp_path, ["--connections-max-idle-ms", str(IDLE_MS)])
    with socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S) as sock:
        deadline = time.monotonic() + 3 * IDLE_MS / 1000
        correlation_id = 0
        while time.monotonic() < deadline:
            sock.sendall(api_versions_v0(correlation_id))
            answer = read_frame(sock)
            assert struct.unpack(">i", answer[:4])[0] == correlation_id
            correlation_id += 1
            time.sleep(IDLE_MS / 1000 / 10)
