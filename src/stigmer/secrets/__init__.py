"""Secrets: the master key, sealing, passphrase-sealed exports, references and redaction.

Importing this package is cheap: ``cryptography`` and ``keyring`` are imported only by
the code paths that seal, open or look for a key.
"""

from stigmer.secrets.keys import MASTER_KEY_FILE, MasterKey, MasterKeys
from stigmer.secrets.redaction import MASK, Redactor, StreamRedactor
from stigmer.secrets.references import MissingReference, Reference, references, secret_names, substitute
from stigmer.secrets.sealing import is_sealed, seal, unseal

__all__ = [
    "MASK",
    "MASTER_KEY_FILE",
    "MasterKey",
    "MasterKeys",
    "MissingReference",
    "Redactor",
    "Reference",
    "StreamRedactor",
    "is_sealed",
    "references",
    "seal",
    "secret_names",
    "substitute",
    "unseal",
]
