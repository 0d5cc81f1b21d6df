"""The nginx templates (deploy/nginx), rendered by deploy/cluster.py and served by a real
nginx on loopback (HTTP on 5705, TLS on 5755, no Rasa behind it): plain HTTP redirects to
HTTPS with a 301 except the health check, and the limits stay. Skipped without nginx
(`make deploy-deps` installs it)."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HTTP_PORT, TLS_PORT = 5705, 5755
NGINX = shutil.which("nginx") or next((p for p in ["/usr/sbin/nginx"] if Path(p).exists()), None)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, monkeypatch_module):
    if not NGINX:
        pytest.skip("nginx is not installed (make deploy-deps)")
    from deploy.cluster import Cluster, Settings

    state = tmp_path_factory.mktemp("nginx")
    for name, value in {
        "PROD_DIR": str(state),
        "NGINX_HTTP_PORT": str(HTTP_PORT),
        "NGINX_TLS_PORT": str(TLS_PORT),
        "RASA_PORTS": "5799",
        "RATE_LIMIT": "10r/s",
        "RATE_BURST": "20",
    }.items():
        monkeypatch_module.setenv(name, value)
    cluster = Cluster(Settings())
    conf = cluster.render_nginx()
    prefix = str(cluster.s.nginx_dir)
    check = subprocess.run(
        [NGINX, "-t", "-q", "-p", prefix, "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-p", prefix, "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{HTTP_PORT}/healthz", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.2)
    yield {"cert": str(cluster.s.tls_dir / "localhost.crt"), "conf": conf.read_text()}
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


HTTP = f"http://127.0.0.1:{HTTP_PORT}"
HTTPS = f"https://127.0.0.1:{TLS_PORT}"


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/webhooks/rest/webhook"),
        ("GET", "/socket.io/?EIO=4&transport=polling"),
        ("POST", "/webhooks/rest/forget"),
        ("GET", "/"),
        ("GET", "/status"),
    ],
)
def test_plain_http_redirects_to_https(nginx, method, path):
    resp = requests.request(
        method, HTTP + path, json={"sender": "x", "message": "hello"}, allow_redirects=False, timeout=10
    )
    assert resp.status_code == 301
    assert resp.headers["Location"] == HTTPS + path


def test_the_health_check_stays_on_plain_http(nginx):
    resp = requests.get(HTTP + "/healthz", allow_redirects=False, timeout=10)
    assert resp.status_code in {502, 503} and resp.json()["error"]  # no Rasa behind this nginx: JSON, not a redirect
    assert requests.post(HTTP + "/healthz", allow_redirects=False, timeout=10).status_code in {403, 405}


def test_https_serves_the_channels(nginx):
    resp = requests.post(
        HTTPS + "/webhooks/rest/webhook", json={"sender": "x", "message": "hi"}, verify=nginx["cert"], timeout=10
    )
    assert resp.status_code in {502, 503} and resp.headers.get("Strict-Transport-Security")
    resp = requests.post(
        HTTPS + "/webhooks/rest/forget",
        json={"sender": "x"},
        verify=nginx["cert"],
        timeout=10,
        headers={"Origin": "http://evil.example"},
    )
    assert resp.status_code == 403


def test_the_redirect_keeps_the_per_client_limit(nginx):
    codes = [requests.get(HTTP + "/x", allow_redirects=False, timeout=10).status_code for _ in range(60)]
    assert 429 in codes and set(codes) <= {301, 429}


def test_the_limits_are_still_there(nginx):
    conf = nginx["conf"]
    for line in [
        "client_max_body_size",
        "limit_req_zone",
        "limit_conn_zone",
        "client_body_timeout",
        "keepalive_timeout",
    ]:
        assert line in conf
