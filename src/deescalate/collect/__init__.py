"""Live collection: read-only AWS calls -> a snapshot directory (see snapshot/layout.py).

Only this package (and apply) imports boto3. `collect()` is the entry point.
"""

from __future__ import annotations

from deescalate.collect.run import DEFAULT_MAX_ATTEMPTS, Progress, collect
from deescalate.collect.session import Retry

__all__ = ["DEFAULT_MAX_ATTEMPTS", "Progress", "Retry", "collect"]
