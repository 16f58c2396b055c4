"""One router per resource: users, anonymous recommendations, items, ops (+ admin)."""
