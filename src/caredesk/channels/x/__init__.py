"""X (Twitter API v2) channel: mentions/search polling, Account Activity webhook, replies, DMs."""

from caredesk.channels.x.text import X_MAX_WEIGHTED_LENGTH, x_weighted_length

__all__ = ["X_MAX_WEIGHTED_LENGTH", "x_weighted_length"]
