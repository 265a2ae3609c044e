"""Find out what happened: events, log search, resource snapshots."""

__all__: list[str] = []
