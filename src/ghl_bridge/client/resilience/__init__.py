"""Rate limiting, retry classification and circuit breaking for the one request pipeline."""
