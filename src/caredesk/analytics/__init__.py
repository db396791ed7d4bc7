"""Analytics stage."""
