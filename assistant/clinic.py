"""The clinic profile: name, phone, booking link, hours, address and the emergency numbers.

Numbers are configuration, never code (see ``../shared/clinical/red-flags.md``: emergency
numbers differ and even clash between countries). The profile is a YAML file,
``clinic/profile.yml`` by default or the file named by ``CLINIC_PROFILE``. Anything left
empty falls back to neutral wording ("your local emergency number"), never to a number.
"""

import functools
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

from assistant.paths import data_path

logger = logging.getLogger(__name__)

PROFILE_ENV = "CLINIC_PROFILE"
DEFAULT_PROFILE = "clinic/profile.yml"


@dataclass(frozen=True)
class ClinicProfile:
    name: str = ""
    phone: str = ""
    booking_url: str = ""
    hours: str = ""
    address: str = ""
    emergency_number: str = ""
    emergency_department: str = ""
    urgent_line: str = ""
    # Crisis line for thoughts of suicide or self-harm, e.g. "Lifeline on 13 11 14".
    crisis_line: str = ""
    # The clinic's website origins allowed to embed the widget (assistant/origins.py).
    website_origins: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Optional[dict]) -> "ClinicProfile":
        data = data or {}
        known = {f.name for f in fields(cls)} - {"website_origins"}
        values = {k: str(data.get(k) or "").strip() for k in known}
        origins = data.get("website_origins") or ()
        origins = origins if isinstance(origins, (list, tuple)) else (origins,)
        return cls(**values, website_origins=tuple(str(o).strip() for o in origins))

    # Wording helpers: every reply that names a number goes through these.
    @property
    def display_name(self) -> str:
        return self.name or "the clinic"

    @property
    def emergency_call(self) -> str:
        """'000' or 'your local emergency number'."""
        return self.emergency_number or "your local emergency number"

    @property
    def department(self) -> str:
        return self.emergency_department or "the nearest emergency department"

    @property
    def crisis_call(self) -> str:
        """'Lifeline on 13 11 14' or 'your local crisis line'."""
        return self.crisis_line or "your local crisis line"

    @property
    def urgent_advice(self) -> str:
        return self.urgent_line or "your local urgent-care or after-hours doctor service"

    def booking_lines(self) -> List[str]:
        """How to book, from whatever the clinic configured (possibly nothing)."""
        lines = []
        if self.phone:
            lines.append(f"Call {self.display_name} on {self.phone}.")
        if self.booking_url:
            lines.append(f"Book online: {self.booking_url}")
        if self.hours:
            lines.append(f"Opening hours: {self.hours}")
        if self.address:
            lines.append(f"Address: {self.address}")
        return lines

    def booking_sentence(self) -> str:
        parts = []
        if self.phone:
            parts.append(f"call {self.phone}")
        if self.booking_url:
            parts.append(f"book online at {self.booking_url}")
        if not parts:
            return f"Contact {self.display_name} to book an appointment."
        return f"To book with {self.display_name}, " + " or ".join(parts) + "."

    def public_dict(self) -> dict:
        """The numbers a front end may show (all configuration, possibly empty)."""
        return {
            "clinic_name": self.display_name,
            "clinic_phone": self.phone,
            "booking_url": self.booking_url,
            "emergency_number": self.emergency_number,
            "emergency_department": self.department,
            "urgent_line": self.urgent_line,
            "crisis_line": self.crisis_line,
        }


def load_profile(path: Optional[Path] = None) -> ClinicProfile:
    path = Path(path) if path else data_path(PROFILE_ENV, DEFAULT_PROFILE)
    return _load(str(path))


@functools.lru_cache(maxsize=8)
def _load(path: str) -> ClinicProfile:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        logger.warning("Clinic profile %s not found; using neutral wording", path)
        data = {}
    profile = ClinicProfile.from_dict(data if isinstance(data, dict) else {})
    if not profile.emergency_number:
        logger.warning("Clinic profile has no emergency_number; replies say 'your local emergency number'")
    return profile
