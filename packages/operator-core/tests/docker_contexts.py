"""Write docker contexts into a context store, as ``docker context create`` lays them out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["write_context"]


def write_context(
    config: Path,
    name: str,
    host: str,
    *,
    tls: dict[str, str] | None = None,
    skip_verify: bool = False,
) -> Path:
    """Write context ``name`` (endpoint ``host``) under ``config``; return its meta.json.

    ``tls`` maps ca/cert/key to the PEM text kept in the context's TLS folder.
    """
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest / "meta.json"
    meta.parent.mkdir(parents=True, exist_ok=True)
    endpoint = {"Host": host, "SkipTLSVerify": skip_verify}
    meta.write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}),
        encoding="utf-8",
    )
    for kind, text in (tls or {}).items():
        pem = config / "contexts" / "tls" / digest / "docker" / f"{kind}.pem"
        pem.parent.mkdir(parents=True, exist_ok=True)
        pem.write_text(text, encoding="utf-8")
    return meta
