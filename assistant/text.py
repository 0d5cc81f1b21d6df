"""Cleaning of a patient's text, shared by the channels and the triage."""

import re
import unicodedata

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_text(text: str) -> str:
    """Normalised (NFC) text without control characters, zero-width marks or lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    return CONTROL_CHARACTERS.sub(" ", text).strip()
