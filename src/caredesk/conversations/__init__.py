"""Customers, identities, threading, states, SLA clocks and notes."""
