"""BackendService's unary RPCs, one module per part (resources, executions,
journal, API keys).

A new part is a new module with its own table, added to
:data:`stigmer.server.servicer.PARTS`.
"""

from stigmer.server.rpc.api_keys import API_KEYS
from stigmer.server.rpc.executions import EXECUTIONS
from stigmer.server.rpc.journal import JOURNAL
from stigmer.server.rpc.resources import RESOURCES
from stigmer.server.rpc.sign_ins import SIGN_INS
from stigmer.server.rpc.table import Unary

__all__ = ["API_KEYS", "EXECUTIONS", "JOURNAL", "RESOURCES", "SIGN_INS", "Unary"]
