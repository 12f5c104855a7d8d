"""The guard every enqueue goes through: queue payloads carry ids, never data or secrets.

Redis keeps job payloads in plain text (and our in-process queue keeps them in a table that is
not encrypted), and failed jobs are kept for inspection. So a payload must stay small (ids, not
records: the database is the source of truth, DESIGN §2) and must never hold a credential.
A key that merely *looks* secret is refused too; a false positive costs a rename, a false
negative leaks a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ghl_bridge.jobs.port import PayloadRejectedError

MAX_PAYLOAD_BYTES = 16 * 1024
SECRET_KEY_MARKERS = ("token", "secret", "password", "authorization")
MAX_JOB_ID_LENGTH = 64  # the width of jobs.id


def encode_payload(data: Mapping[str, Any]) -> str:
    """Check `data` and return it as compact JSON, or raise `PayloadRejectedError`."""
    if not isinstance(data, Mapping):
        raise PayloadRejectedError("job data must be a JSON object (a mapping)")
    secret_path = _find_secret_key(data, "")
    if secret_path is not None:
        raise PayloadRejectedError(
            f"job data key {secret_path!r} looks like a secret; queue payloads carry ids only"
        )
    try:
        encoded = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise PayloadRejectedError(f"job data is not JSON-serialisable: {exc}") from exc
    size = len(encoded.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadRejectedError(
            f"job data is {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit;"
            " store the record in the database and queue its id"
        )
    return encoded


def check_job_id(job_id: str) -> str:
    """Validate a caller-chosen job id.

    All-digit ids are refused because BullMQ numbers its own jobs with an integer counter, so a
    numeric custom id could collide with a generated one (Node BullMQ refuses them too).
    """
    if not job_id or len(job_id) > MAX_JOB_ID_LENGTH:
        raise PayloadRejectedError(f"job_id must be 1..{MAX_JOB_ID_LENGTH} characters")
    if job_id.isdigit():
        raise PayloadRejectedError("job_id must not be an integer: it could collide with BullMQ's")
    return job_id


def check_options(*, delay_s: float, attempts: int, backoff_s: float) -> None:
    """Refuse option values that would make a job run never or forever."""
    if delay_s < 0:
        raise ValueError("delay_s must be >= 0")
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    if backoff_s < 0:
        raise ValueError("backoff_s must be >= 0")


def _find_secret_key(value: Any, path: str) -> str | None:
    """The dotted path of the first secret-looking key anywhere inside `value`, else None."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            here = f"{path}.{key_text}" if path else key_text
            lowered = key_text.lower()
            if any(marker in lowered for marker in SECRET_KEY_MARKERS):
                return here
            found = _find_secret_key(item, here)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find_secret_key(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
