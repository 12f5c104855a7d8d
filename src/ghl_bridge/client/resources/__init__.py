"""One module per GHL area; each method names an operation and passes its data, nothing more."""

from ghl_bridge.client.resources.contacts import ContactsResource
from ghl_bridge.client.resources.oauth import OAuthResource, TokenGrant

__all__ = ["ContactsResource", "OAuthResource", "TokenGrant"]
