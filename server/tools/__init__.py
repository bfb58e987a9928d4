"""Tooling apart from the product path: demo, soak, bench and the server-process harness they share."""
