"""The Stigmer version: kept in its own module so `stigmer version` imports nothing else."""

__version__ = "0.1.0"
