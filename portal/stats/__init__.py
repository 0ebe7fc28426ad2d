"""Statistics for communes: counting without tracking (the keeper), and publishing (the
dashboard, exports, the yearly report). Only aggregates are kept: portal.models.StatCount."""
