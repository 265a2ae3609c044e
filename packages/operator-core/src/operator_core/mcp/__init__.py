"""Serve the tools over MCP: stdio and HTTP, the wire format and the payloads."""

__all__: list[str] = []
