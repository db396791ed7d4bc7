"""Web stage."""
