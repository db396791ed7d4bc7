"""Routing stage."""
