"""searchkit: full-text search for news archives."""

from __future__ import annotations

__version__ = "0.1.0"
