"""The one origins setting (assistant/origins.py): profile + WEBSITE_ORIGINS + own origins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.clinic import ClinicProfile
from assistant.origins import OriginError, allowed_origins, is_allowed, parse_origin

ROOT = Path(__file__).resolve().parents[1]


def profile(*origins: str) -> ClinicProfile:
    return ClinicProfile.from_dict({"name": "X", "website_origins": list(origins)})


def test_own_origins_are_always_allowed_and_env_adds():
    env = {"WEB_PORT": "8280", "WEBSITE_ORIGINS": "https://extra.example  http://localhost:9000"}
    got = allowed_origins(profile("https://www.clinic.org", "https://clinic.org/"), env)
    assert got == [
        "http://localhost:8280",
        "http://127.0.0.1:8280",
        "https://www.clinic.org",
        "https://clinic.org",
        "https://extra.example",
        "http://localhost:9000",
    ]


def test_public_host_variants_and_no_duplicates():
    env = {"WEB_PORT": "8080", "PUBLIC_HOST": "kiosk.clinic.lan", "WEBSITE_ORIGINS": "http://localhost:8080"}
    got = allowed_origins(profile("HTTPS://Kiosk.Clinic.LAN:443"), env)
    assert got == [
        "http://localhost:8080",
        "http://127.0.0.1:8080",
        "http://kiosk.clinic.lan:8080",
        "https://kiosk.clinic.lan",
    ]


def test_profile_string_and_defaults():
    assert ClinicProfile.from_dict({"website_origins": "https://a.example"}).website_origins == ("https://a.example",)
    assert ClinicProfile.from_dict({}).website_origins == ()
    assert allowed_origins(profile(), {}) == ["http://localhost:8080", "http://127.0.0.1:8080"]


@pytest.mark.parametrize(
    "bad",
    [
        "www.clinic.org",
        "ftp://clinic.org",
        "https://clinic.org/page",
        "https://*.clinic.org",
        "*",
        "https://user@clinic.org",
        "https://clinic.org:99999",
        "https://clinic.org?x=1",
        "https://",
        "https://bad_host.org",
        "null",
    ],
)
def test_malformed_origin_is_a_clear_error(bad):
    with pytest.raises(OriginError) as err:
        allowed_origins(profile(bad), {})
    assert "website_origins" in str(err.value) and "scheme://host" in str(err.value)
    with pytest.raises(OriginError) as err:
        allowed_origins(profile(), {"WEBSITE_ORIGINS": f"https://ok.example {bad}"})
    assert "WEBSITE_ORIGINS" in str(err.value)


def test_parse_normalises_like_a_browser():
    assert parse_origin("https://Clinic.ORG:443/") == "https://clinic.org"
    assert parse_origin("http://[::1]:8080") == "http://[::1]:8080"
    assert parse_origin("http://127.0.0.1:80") == "http://127.0.0.1"


def test_is_allowed_is_an_exact_match():
    allowed = ["https://www.clinic.org", "http://localhost:8080"]
    assert is_allowed("https://www.clinic.org", allowed)
    assert is_allowed(None, allowed)  # not a browser
    assert not is_allowed("https://www.clinic.org.evil.example", allowed)
    assert not is_allowed("http://www.clinic.org", allowed)
    assert not is_allowed("null", allowed)
    assert not is_allowed("https://evil.example", allowed)


def _cli(tmp_path: Path, text: str, **env: str) -> subprocess.CompletedProcess:
    file = tmp_path / "profile.yml"
    file.write_text(text)
    full = dict(os.environ, PYTHONPATH=str(ROOT), CLINIC_PROFILE=str(file), WEB_PORT="8280", **env)
    full.pop("PUBLIC_HOST", None)
    return subprocess.run(
        [sys.executable, "-m", "assistant.origins"], env=full, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_prints_space_separated(tmp_path):
    done = _cli(tmp_path, 'website_origins: ["https://www.clinic.org"]\n', WEBSITE_ORIGINS="http://127.0.0.1:8281")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "http://localhost:8280",
        "http://127.0.0.1:8280",
        "https://www.clinic.org",
        "http://127.0.0.1:8281",
    ]


def test_cli_fails_clearly_on_a_malformed_origin(tmp_path):
    done = _cli(tmp_path, 'website_origins: ["www.clinic.org"]\n')
    assert done.returncode == 2
    assert done.stdout == ""
    assert "www.clinic.org" in done.stderr and "website_origins" in done.stderr
