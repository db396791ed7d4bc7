"""Meta channel: Facebook page feed and Messenger, Instagram comments and messages (webhooks)."""
