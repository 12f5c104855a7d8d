"""Inbound webhooks: verification, the receiver, the inbox processor and routing."""
