"""What the front ends may know, from one place: the clinic profile and the content files.

``/assistant.json`` (served by ``web/serve.py``) gives the widget and the kiosk, at
start-up, the clinic's name, phone, booking link and the emergency / urgent / crisis
numbers (``clinic/profile.yml`` read by ``assistant.clinic``, never a second parser), the
topic titles (``content/catalogue.yml`` through ``assistant.catalogue``) and short labels
of the red flags (their ``watch_for`` wording in ``content/red_flags.yml``). So numbers are
configured once, and the front ends carry no tables of topics or flags of their own.

``qr_svg`` renders the kiosk's QR codes (booking link, the clinic's phone as ``tel:``)
server-side with segno, so no QR library runs in the browser and nothing comes from a CDN.
Only the profile's own values are encoded: this is not a QR service for arbitrary text.
"""

from __future__ import annotations

import functools
import io
import logging
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from assistant.catalogue import load_catalogue
from assistant.clinic import ClinicProfile, load_profile
from assistant.paths import ROOT, data_path

logger = logging.getLogger(__name__)

# Labels for the contract's conversation topics (content topics have catalogue titles).
CONVERSATION_TOPIC_LABELS = {
    "red_flag": "Warning signs",
    "appointment": "Booking an appointment",
    "handoff": "Speaking to a person",
    "out_of_scope": "Other questions",
}


def profile_from(path: Optional[str]) -> ClinicProfile:
    """The clinic profile at ``path`` (relative paths from the project root), or the default."""
    if not path:
        return load_profile()
    file = Path(path)
    if not file.is_absolute() and not file.exists():
        file = ROOT / file
    return load_profile(file)


def clinic_settings(profile: ClinicProfile) -> Dict[str, str]:
    """The numbers and links the front ends show (all configuration, possibly empty)."""
    return {
        "clinic_name": profile.name,
        "clinic_phone": profile.phone,
        "booking_url": profile.booking_url,
        "hours": profile.hours,
        "address": profile.address,
        "emergency_number": profile.emergency_number,
        "emergency_department": profile.emergency_department,
        "urgent_line": profile.urgent_line,
        "crisis_line": str(getattr(profile, "crisis_line", "") or ""),
    }


def topic_labels() -> Dict[str, str]:
    labels = {tid: topic.title for tid, topic in load_catalogue().topics.items() if topic.title}
    labels.update(CONVERSATION_TOPIC_LABELS)
    return labels


@functools.lru_cache(maxsize=2)
def flag_labels(path: Optional[str] = None) -> Dict[str, str]:
    """Red-flag id -> the patient wording of what to watch for (for the front desk)."""
    file = Path(path) if path else data_path("RED_FLAGS_PATH", "content/red_flags.yml")
    try:
        with open(file, encoding="utf-8") as handle:
            rules = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as problem:
        logger.warning("red-flag labels unavailable (%s); the kiosk shows flag ids", type(problem).__name__)
        return {}
    flags = rules.get("flags") if isinstance(rules, dict) else None
    return {
        str(f["id"]): str(f.get("watch_for") or "").strip()
        for f in flags or ()
        if isinstance(f, dict) and f.get("id") and f.get("watch_for")
    }


def public_settings(profile: ClinicProfile) -> Dict[str, Any]:
    """The body of ``/assistant.json``."""
    return {"clinic": clinic_settings(profile), "topics": topic_labels(), "flags": flag_labels()}


def qr_svg(data: str, title: str) -> bytes:
    """An SVG QR code for ``data`` (error correction M, dark on white, scalable)."""
    import segno

    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        out, kind="svg", scale=8, border=4, dark="#000", light="#fff", title=title, omitsize=True, xmldecl=False
    )
    return out.getvalue()
