"""BackendService's unary RPCs, one module per Backend part (resources, executions, journal).

A new part (say, API keys) is a new module with its own table, added to
:data:`stigmer.server.servicer.PARTS`.
"""

from stigmer.server.rpc.executions import EXECUTIONS
from stigmer.server.rpc.journal import JOURNAL
from stigmer.server.rpc.resources import RESOURCES
from stigmer.server.rpc.sign_ins import SIGN_INS
from stigmer.server.rpc.table import Unary

__all__ = ["EXECUTIONS", "JOURNAL", "RESOURCES", "SIGN_INS", "Unary"]
