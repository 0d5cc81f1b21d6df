"""Shared fixtures: fresh tracker, dispatcher and domain (as in rasa-demo), clinic profiles."""

import sys
from pathlib import Path
from typing import Iterable, Optional

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from assistant import catalogue as catalogue_module  # noqa: E402
from assistant import clinic as clinic_module  # noqa: E402

CONFIGURED_PROFILE = ROOT / "tests" / "fixtures" / "clinic.yml"
VALID_TIERS = {"emergency", "urgent", "routine", "none"}


def _clear_caches():
    clinic_module._load.cache_clear()
    catalogue_module._load.cache_clear()


@pytest.fixture(autouse=True)
def configured_clinic(monkeypatch):
    """Tests run with a configured (fictional) clinic unless they ask for another profile."""
    monkeypatch.setenv("CLINIC_PROFILE", str(CONFIGURED_PROFILE))
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture
def unconfigured_clinic(monkeypatch, tmp_path):
    path = tmp_path / "profile.yml"
    path.write_text("version: 1\nname: ''\nphone: ''\nemergency_number: ''\n")
    monkeypatch.setenv("CLINIC_PROFILE", str(path))
    _clear_caches()
    return path


@pytest.fixture
def catalogue():
    return catalogue_module.load_catalogue()


@pytest.fixture
def profile():
    return clinic_module.load_profile()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture
def make_tracker():
    """Build a tracker whose latest message has the given intent, entities and slots."""

    def make(
        intent: str,
        entities: Iterable[dict] = (),
        slots: Optional[dict] = None,
        ranking: Optional[list] = None,
        text: str = "",
        metadata: Optional[dict] = None,
        red_flags: Iterable[dict] = (),
        red_flag_mention: Optional[str] = None,
    ) -> Tracker:
        latest = {
            "intent": {"name": intent, "confidence": 1.0},
            "entities": list(entities),
            "intent_ranking": ranking if ranking is not None else [{"name": intent, "confidence": 1.0}],
            "text": text,
            "metadata": metadata or {},
            "red_flags": list(red_flags),
            "red_flag_mention": red_flag_mention,
        }
        return Tracker(
            sender_id="test-sender",
            slots=dict(slots or {}),
            latest_message=latest,
            events=[],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return make


def customs(messages) -> list:
    """The reply-contract payloads of dispatched messages."""
    return [m["custom"] for m in messages if m.get("custom")]
