"""Importing history: the public TWCS CSV format and our canonical JSONL."""
