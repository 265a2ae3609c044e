"""The private engine layer: bounded calls, the engine's errors, reads."""

__all__: list[str] = []
