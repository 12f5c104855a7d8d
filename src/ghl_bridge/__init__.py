"""ghl-bridge."""
