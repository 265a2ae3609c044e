"""The healer: act on unhealthy incidents under the policy, with leases."""

__all__: list[str] = []
