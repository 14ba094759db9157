"""Resource names, slugs and ids."""

from __future__ import annotations

import os
import re
import time

from stigmer.errors import InvalidArgument

MAX_NAME_LENGTH = 63
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9])?$")
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_LABEL_KEY = re.compile(r"^(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def validate_name(name: str, *, field: str = "metadata.name") -> str:
    """Check a resource name and return its slug.

    Names are 1-63 characters: letters, digits, spaces, dots, underscores and hyphens,
    starting and ending with a letter or digit. The slug is the lower-case, hyphenated
    form (``Support Bot`` → ``support-bot``) and is unique per kind.

    Raises:
        InvalidArgument: The name is empty, too long or has other characters.
    """
    if not name:
        raise InvalidArgument(
            "a name is required", field=field, hint="set metadata.name, e.g. `name: my-agent`"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"name {name!r} is {len(name)} characters; the limit is {MAX_NAME_LENGTH}", field=field
        )
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid name {name!r}",
            field=field,
            hint="use letters, digits, spaces, '.', '_' and '-', starting and ending with a letter or digit",
        )
    return slugify(name)


def slugify(name: str) -> str:
    """The slug of a name: lower case, every run of other characters turned into one hyphen."""
    return _NON_SLUG.sub("-", name.lower()).strip("-")


def validate_label_key(key: str, *, field: str) -> None:
    """Check a label or annotation key (``team``, ``stigmer.ai/owner``)."""
    if len(key) > 253 or not _LABEL_KEY.fullmatch(key):
        raise InvalidArgument(
            f"invalid key {key!r}",
            field=field,
            hint="keys are letters, digits, '.', '_' and '-', optionally prefixed by 'domain/'",
        )


def new_id(prefix: str) -> str:
    """A new id: the kind's prefix, 48 bits of milliseconds and 80 random bits, base32.

    Ids sort by creation time, which keeps index inserts local and listings natural.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


__all__ = ["MAX_NAME_LENGTH", "new_id", "slugify", "validate_label_key", "validate_name"]
