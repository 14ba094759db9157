"""Validation of an McpServer's ``spec.oauth``."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpIdentityAssertion, McpOAuth
from stigmer.errors import InvalidArgument

# `${secrets.NAME}` (or `${env.NAME}`), the whole value: what runs fill in from an Environment.
REFERENCE = re.compile(r"\$\{\s*(secrets|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
GRANTS = ("authorization_code", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt")
FAIL = "fail"
WAIT = "wait"
# What a run does when the server needs a person to sign in.
ON_SIGN_IN_NEEDED = (FAIL, WAIT)
# How the client authenticates at the token endpoint with an identity assertion grant.
ASSERTION_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def validate_oauth(oauth: McpOAuth, transport: str) -> None:
    """Check ``spec.oauth`` of an McpServer.

    Raises:
        InvalidArgument: OAuth on a stdio server, an unknown grant or auth method, a client
            secret written in the clear, client credentials without a client, a client ID
            metadata document that is not an https URL with a path, or an identity assertion
            without its issuer, clients, a secure IdP token endpoint or an ID token reference.
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
    if oauth.HasField("identity_assertion"):
        _validate_identity_assertion(oauth, oauth.identity_assertion)


def _validate_identity_assertion(oauth: McpOAuth, assertion: McpIdentityAssertion) -> None:
    field = "spec.oauth.identityAssertion"
    if oauth.grant:
        raise InvalidArgument(
            f"identityAssertion gets tokens with its own grant (jwt-bearer), not {oauth.grant!r}",
            field="spec.oauth.grant",
            hint="remove spec.oauth.grant",
        )
    if not (oauth.client_id and oauth.client_secret):
        raise InvalidArgument(
            "identityAssertion needs the client registered at the authorization server: "
            "clientId and clientSecret",
            field="spec.oauth.clientId" if not oauth.client_id else "spec.oauth.clientSecret",
            hint="write `clientSecret: ${secrets.NAME}` and keep the secret in an Environment",
        )
    issuer = urlparse(oauth.issuer)
    if issuer.scheme not in ("https", "http") or not issuer.hostname:
        raise InvalidArgument(
            "identityAssertion needs the authorization server's issuer URL (it is never taken from "
            "the MCP server, which could send the grant elsewhere)",
            field="spec.oauth.issuer",
            hint="the issuer is listed in the server's protected resource metadata, at "
            "/.well-known/oauth-protected-resource under its URL (authorization_servers)",
        )
    method = oauth.token_endpoint_auth_method
    if method and method not in ASSERTION_AUTH_METHODS:
        raise InvalidArgument(
            f"identityAssertion authenticates the client with a secret, not {method!r}",
            field="spec.oauth.tokenEndpointAuthMethod",
            hint=f"use one of: {', '.join(ASSERTION_AUTH_METHODS)}",
        )
    endpoint = urlparse(assertion.token_endpoint)
    loopback = endpoint.scheme == "http" and endpoint.hostname in LOOPBACK_HOSTS
    if not endpoint.hostname or not (endpoint.scheme == "https" or loopback):
        raise InvalidArgument(
            "the identity provider's token endpoint must be an https URL (the ID token travels to it)",
            field=f"{field}.tokenEndpoint",
            hint="e.g. https://idp.example.com/oauth2/token; plain http only on a loopback address",
        )
    if not assertion.client_id:
        raise InvalidArgument(
            "identityAssertion needs the client Stigmer is registered as at the identity provider",
            field=f"{field}.clientId",
        )
    for name, value in (("idToken", assertion.id_token), ("clientSecret", assertion.client_secret)):
        reference = REFERENCE.fullmatch(value.strip())
        if (name == "idToken" or value) and not (reference and reference.group(1) == "secrets"):
            raise InvalidArgument(
                f"the {name} is {'not a secret reference' if value else 'missing'}; it must come from an "
                "Environment's secrets (McpServer specs are stored and exported as they are)",
                field=f"{field}.{name}",
                hint="keep it in an Environment's secrets and write `${secrets.NAME}`",
            )


__all__ = [
    "ASSERTION_AUTH_METHODS",
    "AUTH_METHODS",
    "FAIL",
    "GRANTS",
    "ON_SIGN_IN_NEEDED",
    "WAIT",
    "validate_oauth",
]
