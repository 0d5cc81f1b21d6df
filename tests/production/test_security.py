"""HTTP API off by default (on: token required, never through nginx), CORS by exact origin,
secrets out of command lines, services on loopback only, random conversation ids."""

import re
import stat
import uuid

import psutil
import pytest
import requests
from prodlib import WEBHOOK, new_sender, sio_connected

ALLOWED = "http://localhost:8080"
NOT_ALLOWED = [
    "http://evil.example",
    "http://localhost:8080.evil.example",
    "http://evil-localhost:8080",
    "https://localhost:8080",
    "http://localhost:80801",
    "http://localhost",
    "null",
]


@pytest.fixture(scope="module")
def api_off(cluster):
    off = [n for n in cluster.s.rasa_names() if cluster.s.rasa_port(n) not in cluster.s.api_ports]
    return cluster.rasa_url(off[0])


@pytest.fixture(scope="module")
def api_on(cluster):
    on = [n for n in cluster.s.rasa_names() if cluster.s.rasa_port(n) in cluster.s.api_ports]
    return cluster.rasa_url(on[0])


@pytest.fixture(scope="module")
def token(cluster):
    return cluster.secrets()["RASA_AUTH_TOKEN"]


API_CALLS = [
    ("GET", "/status"),
    ("GET", "/domain"),
    ("GET", "/conversations/{sender}/tracker"),
    ("POST", "/conversations/{sender}/messages"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
]
# /version answers without a token in Rasa (it tells the Rasa version only); nginx hides it too.
PUBLIC_API_CALLS = [("GET", "/version")]


@pytest.mark.parametrize("method,path", API_CALLS + PUBLIC_API_CALLS)
def test_http_api_is_off_by_default(api_off, method, path):
    resp = requests.request(method, api_off + path.format(sender=new_sender()), json={"text": "hi"}, timeout=10)
    assert resp.status_code in {404, 405}, (path, resp.status_code)


@pytest.mark.parametrize("method,path", API_CALLS[:5])
def test_http_api_needs_the_token_when_on(api_on, token, method, path):
    url = api_on + path.format(sender=new_sender())
    assert requests.request(method, url, json={"text": "hi"}, timeout=10).status_code == 401
    assert (
        requests.request(method, url, params={"token": "wrong" + token}, json={"text": "hi"}, timeout=10).status_code
        == 401
    )


def test_http_api_answers_with_the_token(api_on, token):
    resp = requests.get(api_on + "/status", params={"token": token}, timeout=10)
    assert resp.status_code == 200 and "model_id" in resp.json()


@pytest.mark.parametrize("method,path", API_CALLS + PUBLIC_API_CALLS)
def test_http_api_is_not_reachable_through_nginx_even_with_the_token(cluster, token, method, path):
    for base in (cluster.base_url,):
        resp = requests.request(
            method, base + path.format(sender=new_sender()), params={"token": token}, json={"text": "hi"}, timeout=10
        )
        assert resp.status_code in {403, 404, 405}, (path, resp.status_code)


def test_the_token_is_no_command_line_argument(cluster):
    """Secrets reach the processes through the environment or a 0600 file, never argv
    (which every user of the machine can read in `ps`)."""
    secrets = [v for v in cluster.secrets().values() if v]
    for name in cluster.components():
        pid = cluster.pid(name)
        assert pid, name
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            cmdline = " ".join(p.cmdline())
            assert not any(secret in cmdline for secret in secrets), f"{name}: secret in command line"


def test_secret_files_are_private(cluster):
    for path in [cluster.s.secrets_file, cluster.s.redis_dir / "redis.conf", cluster.s.tls_dir / "localhost.key"]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_action_server_does_not_get_the_database_passwords(cluster):
    env = psutil.Process(cluster.pid("actions")).environ()
    assert "POSTGRES_PASSWORD" not in env and "REDIS_PASSWORD" not in env and "RASA_AUTH_TOKEN" not in env


def test_every_service_listens_on_loopback_only(cluster):
    ports = {
        cluster.s.postgres_port,
        cluster.s.redis_port,
        cluster.s.actions_port,
        *cluster.s.rasa_ports,
        cluster.s.http_port,
        cluster.s.tls_port,
    }
    listening = [
        c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.laddr.port in ports
    ]
    assert {c.laddr.port for c in listening} == ports
    for conn in listening:
        assert conn.laddr.ip in {"127.0.0.1", "::1"}, conn


# -- CORS ---------------------------------------------------------------------------------


def preflight(url, origin):
    return requests.options(
        url + WEBHOOK,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


def test_cors_allows_the_configured_origin(cluster, api_off):
    assert ALLOWED in cluster.s.cors_origins
    for base in (api_off, cluster.base_url):
        resp = preflight(base, ALLOWED)
        assert resp.headers.get("Access-Control-Allow-Origin") == ALLOWED
        resp = requests.post(
            base + WEBHOOK, json={"sender": new_sender(), "message": "hello"}, headers={"Origin": ALLOWED}, timeout=60
        )
        assert resp.status_code == 200
        assert resp.headers.get("Access-Control-Allow-Origin") == ALLOWED


@pytest.mark.parametrize("origin", NOT_ALLOWED)
def test_cors_refuses_every_other_origin(cluster, api_off, origin):
    # Rasa itself: no CORS header, so a browser keeps the reply from the page.
    resp = preflight(api_off, origin)
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = requests.post(
        api_off + WEBHOOK, json={"sender": new_sender(), "message": "hello"}, headers={"Origin": origin}, timeout=60
    )
    assert "Access-Control-Allow-Origin" not in resp.headers
    # nginx: refuses the request outright (also the socket.io handshake, which CORS does not cover).
    assert preflight(cluster.base_url, origin).status_code == 403
    resp = requests.post(
        cluster.base_url + WEBHOOK,
        json={"sender": new_sender(), "message": "hello"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert resp.status_code == 403
    resp = requests.get(
        cluster.base_url + "/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert resp.status_code == 403


def test_socketio_handshake_from_the_configured_origin_works(cluster):
    resp = requests.get(
        cluster.base_url + "/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": ALLOWED},
        timeout=10,
    )
    assert resp.status_code == 200 and '"sid"' in resp.text


# -- conversation ids -------------------------------------------------------------------------


def test_server_made_conversation_ids_are_random_uuids(cluster):
    """A socket.io client that asks for a session without a valid id of its own gets a
    random UUID (122 random bits), never a counter or the socket id."""
    ids = []
    for _ in range(2):
        got = []
        client = sio_connected(cluster.base_url, origin=ALLOWED, on={"session_confirm": got.append})
        try:
            client.emit("session_request", {"session_id": None})
            for _ in range(300):  # up to 30 s: the answer is what is checked, not its speed
                if got:
                    break
                client.sleep(0.1)
        finally:
            client.disconnect()
        assert got, "no session_confirm"
        ids.append(got[0] if isinstance(got[0], str) else got[0].get("session_id"))
    for value in ids:
        assert uuid.UUID(value).version == 4
    assert ids[0] != ids[1]


def test_the_widget_makes_random_uuids():
    """The web front ends create the conversation id with the browser's CSPRNG."""
    from prodlib import REPO

    sources = sorted((REPO / "web" / "static").glob("*.js"))  # our own scripts, not vendor/ or node_modules/
    if not sources:
        pytest.skip("no web front end in this checkout")
    text = "\n".join(p.read_text(errors="replace") for p in sources)
    assert re.search(r"\.(randomUUID|getRandomValues)\(", text)
    assert "Math.random" not in text


# -- plain HTTP, the action server ---------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", WEBHOOK),
        ("GET", "/socket.io/?EIO=4&transport=polling"),
        ("POST", "/webhooks/rest/forget"),
        ("GET", "/"),
    ],
)
def test_plain_http_redirects_to_https(cluster, method, path):
    resp = requests.request(
        method,
        cluster.http_url + path,
        json={"sender": new_sender(), "message": "hi"},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 301
    assert resp.headers["Location"] == f"https://{cluster.s.listen_host}:{cluster.s.tls_port}{path}"


def test_the_health_check_stays_on_plain_http(cluster):
    assert requests.get(cluster.http_url + "/healthz", allow_redirects=False, timeout=10).status_code == 200


def actions_url(cluster):
    return f"http://{cluster.s.listen_host}:{cluster.s.actions_port}"


def action_token(cluster):
    return psutil.Process(cluster.pid("actions")).environ().get("ACTION_SERVER_TOKEN", "")


def test_the_action_server_is_the_hardened_entry_point(cluster):
    cmdline = " ".join(psutil.Process(cluster.pid("actions")).cmdline())
    assert "serving.action_server" in cmdline, cmdline


def test_the_action_server_wants_the_token_when_one_is_set(cluster):
    token = action_token(cluster)
    if not token:
        pytest.skip("this cluster runs the action server without ACTION_SERVER_TOKEN")
    assert requests.get(actions_url(cluster) + "/actions", timeout=10).status_code == 401
    assert (
        requests.post(
            actions_url(cluster) + "/webhook", json={"next_action": "action_greet", "tracker": {}}, timeout=10
        ).status_code
        == 401
    )
    assert requests.get(actions_url(cluster) + "/health", timeout=10).status_code == 200
    # ...and Rasa sends it: a whole turn works
    assert (
        requests.post(
            cluster.base_url + WEBHOOK, json={"sender": new_sender(), "message": "hello"}, timeout=60
        ).status_code
        == 200
    )


def test_an_action_error_echoes_nothing(cluster):
    """A forged call whose tracker makes the action fail: a short 500, not the tracker."""
    marker = "zq" + uuid.uuid4().hex[:12]
    token = action_token(cluster)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"next_action": "action_greet", "tracker": {"latest_message": {"text": marker}}, "domain": {}}
    resp = requests.post(actions_url(cluster) + "/webhook", json=body, headers=headers, timeout=10)
    assert resp.status_code == 500 and marker not in resp.text and "request_body" not in resp.text


@pytest.mark.parametrize("encoding", ["deflate", "gzip", "br"])
def test_compressed_bodies_are_bounded(cluster, encoding):
    import gzip
    import zlib

    token = action_token(cluster)
    headers = {
        "Content-Encoding": encoding,
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {token}"} if token else {}),
    }
    bomb = b'{"pad": "' + b" " * 200_000_000 + b'"}'
    packed = gzip.compress(bomb, 9) if encoding == "gzip" else zlib.compress(bomb, 9)
    resp = requests.post(actions_url(cluster) + "/webhook", data=packed, headers=headers, timeout=10)
    assert resp.status_code in {413, 415}
    assert psutil.Process(cluster.pid("actions")).memory_info().rss < 600_000_000
