"""One module per GHL area; each method names an operation and passes its data, nothing more."""

from ghl_bridge.client.resources.appointments import AppointmentsResource
from ghl_bridge.client.resources.businesses import BusinessesResource
from ghl_bridge.client.resources.calendars import CalendarsResource
from ghl_bridge.client.resources.campaigns import CampaignsResource, WorkflowsResource
from ghl_bridge.client.resources.contact_activity import ContactNotesResource, ContactTasksResource
from ghl_bridge.client.resources.contacts import ContactsResource
from ghl_bridge.client.resources.conversations import ConversationsResource
from ghl_bridge.client.resources.custom_fields import CustomFieldsResource, CustomValuesResource
from ghl_bridge.client.resources.email_templates import EmailTemplatesResource
from ghl_bridge.client.resources.forms import FormsResource, SurveysResource
from ghl_bridge.client.resources.funnels import FunnelsResource
from ghl_bridge.client.resources.links import LinksResource
from ghl_bridge.client.resources.locations import LocationsResource
from ghl_bridge.client.resources.oauth import OAuthResource, TokenGrant
from ghl_bridge.client.resources.opportunities import OpportunitiesResource, PipelinesResource
from ghl_bridge.client.resources.snapshots import SnapshotsResource
from ghl_bridge.client.resources.social_posts import SocialPostsResource
from ghl_bridge.client.resources.tags import LocationTagsResource
from ghl_bridge.client.resources.users import UsersResource

__all__ = [
    "AppointmentsResource",
    "BusinessesResource",
    "CalendarsResource",
    "CampaignsResource",
    "ContactNotesResource",
    "ContactTasksResource",
    "ContactsResource",
    "ConversationsResource",
    "CustomFieldsResource",
    "CustomValuesResource",
    "EmailTemplatesResource",
    "FormsResource",
    "FunnelsResource",
    "LinksResource",
    "LocationTagsResource",
    "LocationsResource",
    "OAuthResource",
    "OpportunitiesResource",
    "PipelinesResource",
    "SnapshotsResource",
    "SocialPostsResource",
    "SurveysResource",
    "TokenGrant",
    "UsersResource",
    "WorkflowsResource",
]
