"""Validation of an McpServer's ``spec.oauth``."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpOAuth
from stigmer.errors import InvalidArgument

# `${secrets.NAME}` (or `${env.NAME}`), the whole value: what runs fill in from an Environment.
REFERENCE = re.compile(r"\$\{\s*(secrets|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
GRANTS = ("authorization_code", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt")
FAIL = "fail"
WAIT = "wait"
# What a run does when the server needs a person to sign in.
ON_SIGN_IN_NEEDED = (FAIL, WAIT)


def validate_oauth(oauth: McpOAuth, transport: str) -> None:
    """Check ``spec.oauth`` of an McpServer.

    Raises:
        InvalidArgument: OAuth on a stdio server, an unknown grant or auth method, a client
            secret written in the clear, client credentials without a client, or a client ID
            metadata document that is not an https URL with a path.
    """
    field = "spec.oauth"
    if transport != "http":
        raise InvalidArgument("OAuth applies to HTTP MCP servers only", field=field, hint="remove spec.oauth")
    if oauth.grant and oauth.grant not in GRANTS:
        raise InvalidArgument(
            f"unknown grant {oauth.grant!r}", field=f"{field}.grant", hint=f"use one of: {', '.join(GRANTS)}"
        )
    method = oauth.token_endpoint_auth_method
    if method and method not in AUTH_METHODS:
        raise InvalidArgument(
            f"unknown token endpoint auth method {method!r}",
            field=f"{field}.tokenEndpointAuthMethod",
            hint=f"use one of: {', '.join(AUTH_METHODS)}",
        )
    secret = oauth.client_secret.strip()
    for name, value in (("clientSecret", secret), ("privateKey", oauth.private_key.strip())):
        if value and not REFERENCE.fullmatch(value):
            raise InvalidArgument(
                f"the {name} is written in the clear; McpServer specs are stored and exported as they are",
                field=f"{field}.{name}",
                hint="keep it in an Environment's secrets and write `${secrets.NAME}`",
            )
    if method == "private_key_jwt" and not (oauth.grant == "client_credentials" and oauth.private_key):
        raise InvalidArgument(
            "private_key_jwt signs client credentials: it needs grant client_credentials and a privateKey",
            field=f"{field}.privateKey",
        )
    if oauth.grant == "client_credentials" and not (oauth.client_id and (secret or oauth.private_key)):
        raise InvalidArgument(
            "the client_credentials grant needs a pre-registered client: clientId and clientSecret",
            field=f"{field}.clientId",
        )
    if oauth.on_sign_in_needed not in ("", *ON_SIGN_IN_NEEDED):
        raise InvalidArgument(
            f"unknown onSignInNeeded {oauth.on_sign_in_needed!r}",
            field=f"{field}.onSignInNeeded",
            hint="fail (the default: the run fails, naming `stigmer mcpserver login`) or wait (the run "
            "waits for that login, which continues it)",
        )
    url = urlparse(oauth.client_metadata_url)
    if oauth.client_metadata_url and (url.scheme != "https" or url.path in ("", "/")):
        raise InvalidArgument(
            "a client ID metadata document must be an https URL with a path",
            field=f"{field}.clientMetadataUrl",
        )


__all__ = ["AUTH_METHODS", "FAIL", "GRANTS", "ON_SIGN_IN_NEEDED", "WAIT", "validate_oauth"]
