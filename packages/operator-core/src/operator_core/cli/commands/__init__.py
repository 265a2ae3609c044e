"""The command groups of the ``operator`` CLI, one module per group."""

__all__: list[str] = []
