"""Action-server configuration: environment variables only."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SEEDS_DIR = Path(os.environ.get("SEEDS_DIR", ROOT / "seeds"))
FACTS_DIR = Path(os.environ.get("FACTS_DIR", ROOT / "var" / "facts"))
