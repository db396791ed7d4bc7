"""Email channel: IMAP polling with a UID cursor, SMTP replies with proper threading headers."""
