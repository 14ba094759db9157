"""Runners: the code that carries out executions (agents, workflows)."""
