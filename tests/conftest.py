"""Shared fixtures. `moto_endpoint` is a real HTTP server (moto's server mode) on 127.0.0.1.

The server starts once per test session; each test that asks for `moto_endpoint` gets it reset to
an empty account first, so tests do not see each other's resources.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest

# moto reads these when it starts and when clients sign requests; set them before any import of moto.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)

MOTO_ACCOUNT_ID = "123456789012"  # moto's default account


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(_moto_server: str) -> str:
    """The URL of a freshly reset moto server."""
    req = urllib.request.Request(f"{_moto_server}/moto-api/reset", method="POST")
    # Resetting after an organization test (six accounts, each with moto's ~1,580 managed
    # policies) took 21-27 s on a loaded 2-CPU machine: allow well beyond that.
    with urllib.request.urlopen(req, timeout=180) as resp:
        assert resp.status == 200
    return _moto_server
