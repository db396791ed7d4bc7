"""Replies stage."""
