"""How results look to a person: the shared presentation and fitting tables."""

__all__: list[str] = []
