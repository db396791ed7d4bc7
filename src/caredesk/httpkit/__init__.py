"""HTTP wiring shared by the web pages and the JSON API: sessions, CSRF, dependencies."""
