"""Engines: claim executions with leases and carry them out with the runners."""
