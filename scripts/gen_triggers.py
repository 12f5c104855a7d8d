"""Build the trigger catalogue (`events/triggers.json`) from GHL's webhook-events.json.

The shared spec folder is not installed with the package, so the service ships this derived
table: for each event ``type`` as it arrives on the wire, its JSON Schema and an example.
GHL's documentation names some events differently from the ``type`` it sends (AppInstall is
``INSTALL``, ConversationUnreadWebhook is ``ConversationUnreadUpdate``; its Appointment
Update/Delete examples say AppointmentCreate, a copy-paste), and uses a few non-JSON-Schema
types ("Date", "Email/SMS") and Swagger 2's ``required: true`` on properties; all are
corrected here. ProviderOutboundMessage is left out: it
goes to a conversation provider's own URL, with ``type`` SMS or Email, never to the app webhook.
Events the service raises itself (``connection.needs_reauth``) are added.

Usage: python scripts/gen_triggers.py [SPEC_FILE] [--check]
``--check`` exits 1 if the committed file differs (tests/unit/events/test_triggers.py runs the
same comparison). The output is deterministic (sorted keys).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "ghl-spec" / "webhook-events.json"
OUT = REPO_ROOT / "src" / "ghl_bridge" / "events" / "triggers.json"

WIRE_TYPE = {
    "AppInstall": "INSTALL",
    "AppUninstall": "UNINSTALL",
    "PlanChange": "PLAN_CHANGE",
    "ConversationUnreadWebhook": "ConversationUnreadUpdate",
}
LEFT_OUT = {"ProviderOutboundMessage"}
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
OWN_EVENTS: dict[str, dict[str, Any]] = {
    "connection.needs_reauth": {
        "source": "ghl-bridge",
        "description": "GHL rejected a connection's refresh token; a person must reconnect.",
        "schema": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "connectionId": {"type": "string"},
                "locationId": {"type": ["string", "null"]},
                "companyId": {"type": "string"},
                "reason": {"type": "string"},
            },
        },
        "example": {
            "type": "connection.needs_reauth",
            "connectionId": "con_3q2x",
            "locationId": "ve9EPM428h8vShlRW1KT",
            "companyId": "otg8dTQqGLh3Q6iQI55w",
            "reason": "GHL rejected the refresh token and would not reconnect the install",
        },
    }
}


def fix_schema(node: Any) -> Any:
    """Replace the documentation's non-JSON-Schema types with strings (a date is a string)."""
    if isinstance(node, list):
        return [fix_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: fix_schema(value) for key, value in node.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):  # `required: true` on a property (Swagger 2 style)
        flagged = [n for n, p in properties.items() if isinstance(p, dict) and p.get("required")]
        for prop in properties.values():
            if isinstance(prop, dict) and isinstance(prop.get("required"), bool):
                del prop["required"]
        if flagged:
            out["required"] = sorted(set(out.get("required") or []) | set(flagged))
    kind = out.get("type")
    if isinstance(kind, str) and kind not in JSON_TYPES:
        out["type"] = "string"
        if kind == "Date":
            out["format"] = "date-time"
    return out


def build(spec: dict[str, Any]) -> dict[str, Any]:
    triggers: dict[str, Any] = {}
    for doc_name, entry in sorted(spec.items()):
        if doc_name in LEFT_OUT:
            continue
        wire = WIRE_TYPE.get(doc_name, doc_name)
        schema = entry.get("schema")
        if not isinstance(schema, dict):  # "schema_error" or none in the documentation
            schema = {"type": "object"}
        example = entry.get("example")
        if isinstance(example, dict):
            example = {**example, "type": wire}
        triggers[wire] = {
            "source": "ghl",
            "doc": doc_name,
            "schema": fix_schema(schema),
            "example": example if isinstance(example, dict) else None,
        }
    for name, entry in OWN_EVENTS.items():
        triggers[name] = {"doc": None, **entry}
    return {
        "generatedBy": "scripts/gen_triggers.py from ghl-spec/webhook-events.json",
        "triggers": triggers,
    }


def render(spec_file: Path) -> str:
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    return json.dumps(build(spec), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args()
    text = render(args.spec)
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run python scripts/gen_triggers.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(json.loads(text)['triggers'])} event types)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
