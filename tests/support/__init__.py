"""Test helpers: cassettes (vcrpy) and a scripted loopback HTTP server."""
