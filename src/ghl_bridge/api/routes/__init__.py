"""Route modules, one per area of the REST contract in DESIGN.md §3."""
