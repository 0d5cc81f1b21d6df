"""One local production cluster for the whole session: PostgreSQL, Redis, the action
server, two Rasa instances and nginx (deploy/cluster.py), started here and stopped at the end.

Settings come from the environment as for `make cluster-up`; the tests add two things:
rasa-2 runs with the HTTP API on (so both "off by default" and "on, with a token" are
checked) and the clinic profile is the configured test clinic. Set PROD_TEST_REUSE=1 to
run against a cluster that is already up (it is then left running).
"""

import os
import time

import pytest
from prodlib import REPO, Cluster, Settings, TrackerDB, chat, log_sizes, new_sender

TEST_CLINIC = REPO / "tests" / "fixtures" / "clinic.yml"


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after every other production test (log checks)")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: 1 if item.get_closest_marker("last") else 0)


def trust_the_cluster_certificate(handle) -> None:
    """nginx serves the channels on HTTPS (plain HTTP redirects) with a self-signed
    certificate: requests, socket.io and websocket clients of the tests trust it."""
    cert = os.environ.get("TLS_CERT") or str(handle.s.tls_dir / "localhost.crt")
    os.environ["REQUESTS_CA_BUNDLE"] = cert
    os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = cert


@pytest.fixture(scope="session")
def cluster():
    settings = Settings()
    settings.api_ports = [settings.rasa_ports[-1]]
    extra_env = {"CLINIC_PROFILE": str(TEST_CLINIC)} if TEST_CLINIC.exists() else {}
    handle = Cluster(settings, extra_env=extra_env)
    if os.environ.get("PROD_TEST_REUSE") == "1":
        handle.wait_healthy(handle.components(), timeout=30)
        handle.log_offsets = log_sizes(handle)
        trust_the_cluster_certificate(handle)
        yield handle
        return
    busy = handle.busy_ports()
    if busy:
        pytest.fail(f"ports {busy} are in use: stop what runs there (make cluster-down) and try again")
    handle.log_offsets = log_sizes(handle)  # the log checks read only what this session wrote
    t0 = time.monotonic()
    try:
        handle.up()
    except BaseException:
        handle.down()
        raise
    handle.startup_seconds = time.monotonic() - t0
    trust_the_cluster_certificate(handle)
    yield handle
    handle.down()


@pytest.fixture(scope="session")
def db(cluster):
    return TrackerDB(cluster)


@pytest.fixture(scope="session")
def is_assistant(cluster):
    """True when the cluster serves this project's assistant (replies carry the contract's
    `custom` payload), False for a stand-in such as a bare `rasa init` bot."""
    reply = chat(cluster.base_url, new_sender(), "hello")
    return bool(reply.customs)


@pytest.fixture
def assistant_only(is_assistant):
    if not is_assistant:
        pytest.skip("needs this project's assistant (the cluster serves another model)")
