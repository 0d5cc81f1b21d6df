"""The embedded profile as `make run` launches it (scripts/run.sh with the Procfile), here
in its background mode under supervisord, on ports of its own (Rasa 5405, action server
5455, web 8480) with BIND=0.0.0.0 - the setting that serves a kiosk on the clinic network:

* the action server still listens on 127.0.0.1 only (Rasa and the web server on BIND);
* the run directory is 0700 and tracker.db and every log 0600 (umask 077);
* both Sanic servers refuse a body over SANIC_REQUEST_MAX_SIZE with 413;
* `scripts/stop.sh rasa` stops one process, `scripts/run.sh --background` brings it back,
  `scripts/stop.sh` stops everything;
* a malformed website origin stops the start-up with a clear error, before anything runs.
"""

import os
import stat
import subprocess
import uuid

import psutil
import pytest
import requests
from prodlib import REPO, WEBHOOK, wait_until

RASA_PORT, ACTIONS_PORT, WEB_PORT = 5405, 5455, 8480
PORTS = (RASA_PORT, ACTIONS_PORT, WEB_PORT)
MAX_BODY = 200_000


def listening(port):
    return {
        c.laddr.ip
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run-profile") / "run"
    env = dict(
        os.environ,
        RASA_PORT=str(RASA_PORT),
        ACTIONS_PORT=str(ACTIONS_PORT),
        WEB_PORT=str(WEB_PORT),
        BIND="0.0.0.0",
        RUN_DIR=str(run_dir),
        RASA_MAX_BODY=str(MAX_BODY),
        ACTIONS_MAX_BODY=str(MAX_BODY),
        ACTION_SERVER_TOKEN="run-profile-" + uuid.uuid4().hex,
    )
    env.pop("CORS_ORIGINS", None)
    busy = [p for p in PORTS if listening(p)]
    if busy:
        pytest.fail(f"ports {busy} are in use: stop what runs there and try again")

    def run(*args, timeout=600):
        return subprocess.run(["bash", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)

    started = run("scripts/run.sh", "--background")
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield {"run": run, "dir": run_dir, "env": env, "out": started.stdout}
    finally:
        run("scripts/stop.sh", timeout=180)


def test_action_server_stays_on_loopback_when_bind_is_all_interfaces(stack):
    assert listening(ACTIONS_PORT) == {"127.0.0.1"}
    assert listening(RASA_PORT) == {"0.0.0.0"}
    assert listening(WEB_PORT) == {"0.0.0.0"}


def test_ready_message_lists_addresses_and_origins(stack):
    out = stack["out"]
    assert f"http://localhost:{WEB_PORT}/" in out and f"http://localhost:{RASA_PORT}/webhooks/rest/webhook" in out
    assert f"Allowed web origins : http://localhost:{WEB_PORT} http://127.0.0.1:{WEB_PORT}" in out


def test_run_directory_tracker_and_logs_are_private(stack):
    resp = requests.post(
        f"http://127.0.0.1:{RASA_PORT}{WEBHOOK}", json={"sender": str(uuid.uuid4()), "message": "hello"}, timeout=60
    )
    assert resp.status_code == 200 and resp.json()
    run_dir = stack["dir"]
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    tracker = wait_until(lambda: (run_dir / "tracker.db").exists() and run_dir / "tracker.db", 30, what="tracker.db")
    files = [tracker, *run_dir.glob("*.log"), run_dir / "supervisord.conf"]
    assert {"rasa.log", "actions.log", "web.log"} <= {p.name for p in files}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_both_servers_refuse_bodies_over_the_limit(stack):
    body = b'{"sender": "x", "message": "' + b"y" * (MAX_BODY + 10) + b'"}'
    headers = {"Content-Type": "application/json"}
    assert (
        requests.post(f"http://127.0.0.1:{RASA_PORT}{WEBHOOK}", data=body, headers=headers, timeout=30).status_code
        == 413
    )
    headers["Authorization"] = "Bearer " + stack["env"]["ACTION_SERVER_TOKEN"]
    assert (
        requests.post(f"http://127.0.0.1:{ACTIONS_PORT}/webhook", data=body, headers=headers, timeout=30).status_code
        == 413
    )


def test_one_process_stops_and_comes_back(stack):
    assert stack["run"]("scripts/stop.sh", "rasa").returncode == 0
    assert not listening(RASA_PORT)
    assert listening(ACTIONS_PORT) == {"127.0.0.1"}  # the others carry on
    again = stack["run"]("scripts/run.sh", "--background")
    assert again.returncode == 0, again.stderr[-2000:]
    assert listening(RASA_PORT) == {"0.0.0.0"}


def test_malformed_origin_stops_the_start(tmp_path):
    env = dict(
        os.environ,
        RUN_DIR=str(tmp_path / "run"),
        RASA_PORT="5406",
        ACTIONS_PORT="5456",
        WEB_PORT="8481",
        WEBSITE_ORIGINS="https://www.clinic.org/contact",
    )
    done = subprocess.run(
        ["bash", "scripts/run.sh", "--background"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "WEBSITE_ORIGINS" in done.stderr and "https://www.clinic.org/contact" in done.stderr
    assert not (tmp_path / "run" / "supervisord.conf").exists()
    assert not listening(5406) and not listening(5456)
