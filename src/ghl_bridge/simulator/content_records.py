"""Record shapes of the content areas, shared by their handlers and by the seed.

Plain data only: the seed runs while `context` is still being imported (context → seed →
seed_content), so nothing here may import a handler module or `context`. Records are stored in
`SimState.store(<kind>)` under the names below and carry their `locationId`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACCOUNT_KIND",
    "FORMS",
    "FUNNEL_KIND",
    "GROUP_KIND",
    "LINK_KIND",
    "PAGE_KIND",
    "POST_KIND",
    "REDIRECT_KIND",
    "SCHEDULE_KIND",
    "SURVEYS",
    "TEMPLATE_KIND",
    "SubmissionKind",
    "asset_url",
    "new_link",
    "new_redirect",
    "template_record",
]

Record = dict[str, Any]
LINK_KIND = "links"
FUNNEL_KIND = "funnels"
PAGE_KIND = "funnel_pages"
REDIRECT_KIND = "redirects"
ACCOUNT_KIND = "social_accounts"
GROUP_KIND = "social_groups"
POST_KIND = "social_posts"
TEMPLATE_KIND = "email_templates"
SCHEDULE_KIND = "email_schedules"


@dataclass(frozen=True, slots=True)
class SubmissionKind:
    """What differs between forms and surveys: store names, id field and response key."""

    plural: str  # "forms": the store, the list key
    id_field: str  # "formId": the submission's parent and the filter parameter

    @property
    def submissions(self) -> str:
        return f"{self.plural}_submissions"


FORMS = SubmissionKind("forms", "formId")
SURVEYS = SubmissionKind("surveys", "surveyId")


def new_link(link_id: str, location_id: str, name: str, redirect_to: str) -> Record:
    """A trigger link; `fieldKey` is the merge tag messages embed (docs examples)."""
    return {
        "id": link_id,
        "name": name,
        "redirectTo": redirect_to,
        "fieldKey": f"{{{{trigger_link.{link_id}}}}}",
        "locationId": location_id,
    }


def new_redirect(
    redirect_id: str, location_id: str, domain: str, path: str, target: str, action: str
) -> Record:
    """A URL redirect: the domain bare (no scheme, no trailing slash, lower case), the path
    starting with "/" and kept as given next to its lower-case form (the uniqueness key)."""
    bare = domain.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    path = "/" + path.strip().lstrip("/")
    return {
        "id": redirect_id,
        "locationId": location_id,
        "domain": bare,
        "path": path,
        "pathLowercase": path.lower(),
        "type": "Permanent",  # GHL's redirects are 301s (spec example)
        "target": target,
        "action": action,
    }


def asset_url(location_id: str, record_id: str, file: str) -> str:
    """Where an email asset would be hosted: the reserved `.test` domain, nothing is served."""
    return f"https://storage.sim-ghl.test/email-builder/{location_id}/{record_id}/{file}"


def template_record(
    template_id: str, location_id: str, name: str, kind: str, when: str, **extra: Any
) -> Record:
    """An email builder template (or folder, `kind="folder"`)."""
    record: Record = {
        "id": template_id,
        "locationId": location_id,
        "name": name,
        "templateType": kind,
        "version": "2",
        "updatedBy": "",
        "isPlainText": False,
        "dateAdded": when,
        "lastUpdated": when,
        "previewUrl": asset_url(location_id, template_id, "index.html"),
        "parentId": "",
        "archived": False,
        "html": "",
    }
    record.update(extra)
    return record
