"""Api stage."""
