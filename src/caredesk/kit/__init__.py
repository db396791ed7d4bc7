"""Domain-free building blocks: database, clock, ids, errors, jobs, HTTP client."""
