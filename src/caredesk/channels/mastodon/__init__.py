"""Mastodon channel: mention notifications and hashtag/search polling, replies, direct posts."""
