"""How the CLI shows results: tables and views per noun."""

__all__: list[str] = []
