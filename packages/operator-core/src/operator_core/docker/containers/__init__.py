"""Act on containers: lifecycle, signals, exec, logs, networks, waits."""

__all__: list[str] = []
