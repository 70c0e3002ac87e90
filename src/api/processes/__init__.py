"""Background work that reacts to events or time: sending refunds (and, later, messages and scheduled jobs)."""
