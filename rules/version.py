"""Which engine a due date came from: a digest of the rules package's own code, so that an upgrade that
changes how due dates are worked out re-evaluates every subject at the next start, as a changed pack does
(the daily run re-evaluates only the subjects a day can change, so nothing else would)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def engine_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
