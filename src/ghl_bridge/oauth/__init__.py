"""Connections to GHL: authorize/callback, sealed tokens, refresh that never burns a token."""
