"""Where the project's data files live. Paths can be overridden by environment variables."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def data_path(env_var: str, default: str) -> Path:
    """A data file's path: the environment variable if set, else ``default`` under the project root."""
    value = os.environ.get(env_var)
    path = Path(value) if value else ROOT / default
    return path if path.is_absolute() else ROOT / path
