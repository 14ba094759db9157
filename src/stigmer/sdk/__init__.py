"""The Python SDK: authoring resources in Python, and a typed client for any backend."""
