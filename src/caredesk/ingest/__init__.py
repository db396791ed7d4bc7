"""Durable inbox: store every received post once, before acknowledging it."""
