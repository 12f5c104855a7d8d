"""Which events reconciliation synthesises for a searched record, given what the inbox holds."""

from __future__ import annotations

import json
from typing import Any

from ghl_bridge.events.reconcile import (
    CONTACTS,
    OPPORTUNITIES,
    Seen,
    epoch_ms,
    index_events,
    iso_ms,
    missing_events,
)

T0 = epoch_ms("2026-09-21T14:00:00.000Z") or 0
SINCE = T0 - 60_000


def contact(added: int, updated: int, **extra: Any) -> dict[str, Any]:
    return {"id": "c1", "locationId": "loc", "firstName": "Ada", "lastName": None,
            "address": "1 Main St", "email": "ada@example.com", "tags": [], "dnd": False,
            "dateAdded": iso_ms(added), "dateUpdated": iso_ms(updated), "searchAfter": [1, "c1"],
            **extra}  # fmt: skip


def opportunity(added: int, updated: int, **extra: Any) -> dict[str, Any]:
    return {"id": "o1", "name": "Deal", "pipelineId": "p", "pipelineStageId": "s1",
            "status": "open", "contactId": "c1", "monetaryValue": None,
            "createdAt": iso_ms(added), "updatedAt": iso_ms(updated), "sort": [1, "o1"],
            **extra}  # fmt: skip


def types(planned: list[tuple[str, int, dict[str, Any]]]) -> list[tuple[str, int]]:
    return [(event_type, at) for event_type, at, _ in planned]


def test_epoch_ms_and_iso_ms_round_trip() -> None:
    assert iso_ms(T0) == "2026-09-21T14:00:00.000Z"
    assert epoch_ms(iso_ms(T0 + 7)) == T0 + 7
    assert epoch_ms(T0) == T0 and epoch_ms("2026-09-21T14:00:00") == T0
    assert epoch_ms("nonsense") is None and epoch_ms(True) is None and epoch_ms(None) is None


def test_contact_fields_take_the_webhook_shape() -> None:
    fields = CONTACTS.fields(contact(T0, T0))
    assert fields["address1"] == "1 Main St" and "address" not in fields
    assert fields["name"] == "Ada" and "lastName" not in fields and "searchAfter" not in fields
    assert fields["dateUpdated"] == iso_ms(T0)


def test_opportunity_fields_take_the_webhook_shape() -> None:
    fields = OPPORTUNITIES.fields(opportunity(T0, T0 + 5))
    assert (fields["dateAdded"], fields["dateUpdated"]) == (iso_ms(T0), iso_ms(T0 + 5))
    assert "createdAt" not in fields and "sort" not in fields and "monetaryValue" not in fields


def test_new_record_with_no_event_gets_a_create() -> None:
    assert types(missing_events(CONTACTS, contact(T0, T0), [], SINCE)) == [("ContactCreate", T0)]


def test_new_and_changed_record_with_no_event_gets_both() -> None:
    planned = missing_events(CONTACTS, contact(T0, T0 + 5000), [], SINCE)
    assert types(planned) == [("ContactCreate", T0), ("ContactUpdate", T0 + 5000)]


def test_a_change_within_the_creation_slack_is_part_of_the_create() -> None:
    planned = missing_events(CONTACTS, contact(T0, T0 + 1), [], SINCE)
    assert types(planned) == [("ContactCreate", T0 + 1)]  # stamped with the state it carries
    rebuilt = Seen("ContactCreate", T0 + 1, planned[0][2])
    assert missing_events(CONTACTS, contact(T0, T0 + 1), [rebuilt], SINCE) == []  # next round
    create = Seen("ContactCreate", T0, {})  # delivered, but stamped before the last write
    assert types(missing_events(CONTACTS, contact(T0, T0 + 1), [create], SINCE)) == [
        ("ContactUpdate", T0 + 1)
    ]


def test_delivered_create_and_lost_update() -> None:
    create = Seen("ContactCreate", T0, {"id": "c1", "tags": []})
    record = contact(T0, T0 + 500, tags=["hot"])
    planned = missing_events(CONTACTS, record, [create], SINCE)
    assert types(planned) == [("ContactUpdate", T0 + 500), ("ContactTagUpdate", T0 + 500)]
    assert planned[1][2]["tags"] == ["hot"]


def test_a_delivered_event_for_the_latest_change_covers_it() -> None:
    seen = [Seen("ContactCreate", T0, {}), Seen("ContactTagUpdate", T0 + 500, {})]
    assert missing_events(CONTACTS, contact(T0, T0 + 500), seen, SINCE) == []


def test_lost_create_is_restored_even_when_a_later_update_arrived() -> None:
    seen = [Seen("ContactUpdate", T0 + 500, {})]
    planned = missing_events(CONTACTS, contact(T0, T0 + 500), seen, SINCE)
    assert types(planned) == [("ContactCreate", T0)]


def test_old_record_changed_without_a_known_payload_gets_an_update_only() -> None:
    old = T0 - 86_400_000
    planned = missing_events(CONTACTS, contact(old, T0, tags=["x"]), [], SINCE)
    assert types(planned) == [("ContactUpdate", T0)]


def test_opportunity_field_changes_become_their_specific_events() -> None:
    created = Seen("OpportunityCreate", T0, OPPORTUNITIES.fields(opportunity(T0, T0)))
    record = opportunity(T0, T0 + 9, pipelineStageId="s2", monetaryValue=500)
    planned = missing_events(OPPORTUNITIES, record, [created], SINCE)
    assert [t for t, _ in types(planned)] == [
        "OpportunityUpdate", "OpportunityStageUpdate", "OpportunityMonetaryValueUpdate",
    ]  # fmt: skip


def test_index_events_groups_by_record_and_skips_junk() -> None:
    rows = [
        ("ContactCreate", json.dumps({"id": "c1", "timestamp": iso_ms(T0)})),
        ("ContactUpdate", json.dumps({"id": "c1", "timestamp": iso_ms(T0 + 1)})),
        ("ContactUpdate", json.dumps({"id": "c2"})),  # no timestamp
        ("ContactUpdate", "not json"),
        ("ContactUpdate", json.dumps({"id": 5, "timestamp": iso_ms(T0)})),
    ]
    seen = index_events(rows)
    assert list(seen) == ["c1"]
    assert [s.at_ms for s in seen["c1"]] == [T0, T0 + 1]


def test_reconcile_settings_refuse_negative_values() -> None:
    import pydantic

    from ghl_bridge.config import Settings

    assert Settings().reconcile_interval_s == 900.0
    for name in ("reconcile_interval_s", "reconcile_overlap_s", "reconcile_settle_s"):
        try:
            Settings(**{name: -1})
        except pydantic.ValidationError as exc:
            assert name in str(exc)
        else:
            raise AssertionError(f"{name}=-1 was accepted")
