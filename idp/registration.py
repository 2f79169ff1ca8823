"""Relying-party registration, shared by ``idp clients …`` and the ``[[clients]]`` tables."""

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.models import Client
from idp.models.client import AUTH_METHODS, hash_secret
from idp.scopes import SUPPORTED_SCOPES
from idp.settings import ConfigurationError

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _check_uri(uri: str, what: str) -> str:
    parts = urlsplit(uri)
    # RFC 9700 §2.1 / §4.1.3: absolute, no fragment, https except on loopback (RFC 8252 §7.3).
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.fragment:
        raise ValueError(f"{what} must be an absolute http(s) URI without fragment: {uri!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(f"{what} must use https (http only on localhost): {uri!r}")
    return uri


def _check_resource(uri: str) -> str:
    # RFC 8707 §2: a resource is an absolute URI without a fragment (https, as redirect URIs).
    if not isinstance(uri, str):
        raise ValueError(f"a resource must be a URI: {uri!r}")
    return _check_uri(uri, "resource")


def _validated(*, name: str, redirect_uris: Iterable[str], public: bool, scope: str | None,
               post_logout_redirect_uris: Iterable[str], backchannel_logout_uri: str | None,
               auth_method: str | None, id_token_alg: str, jwks: dict | None,
               jwks_uri: str | None, resources: Iterable[str] = ()) -> dict:
    if not name:
        raise ValueError("a client needs a name")
    redirect_uris = [_check_uri(u, "redirect URI") for u in redirect_uris]
    if not redirect_uris:
        raise ValueError("a client needs at least one redirect URI")
    method = auth_method or ("none" if public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ValueError(f"auth method must be one of {', '.join(AUTH_METHODS)}")
    if public != (method == "none"):
        raise ValueError("a public client uses auth method 'none', and only it does")
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ValueError("private_key_jwt needs the client's jwks or jwks_uri")
    if id_token_alg not in {"RS256", "ES256"}:
        raise ValueError("id_token_alg must be RS256 or ES256")
    scopes = (scope or " ".join(SUPPORTED_SCOPES)).split()
    unknown = set(scopes) - set(SUPPORTED_SCOPES)
    if unknown:
        raise ValueError(f"unsupported scopes: {' '.join(sorted(unknown))}")
    if "openid" not in scopes:
        raise ValueError("the scope set must include openid")
    return {"name": name, "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": [_check_uri(u, "post-logout redirect URI")
                                          for u in post_logout_redirect_uris],
            "backchannel_logout_uri": _check_uri(backchannel_logout_uri, "back-channel logout URI")
            if backchannel_logout_uri else None,
            "scope": " ".join(dict.fromkeys(scopes)), "auth_method": method,
            "id_token_alg": id_token_alg, "jwks": jwks,
            "jwks_uri": _check_uri(jwks_uri, "jwks_uri") if jwks_uri else None,
            "resources": list(dict.fromkeys(_check_resource(r) for r in resources))}


def register_client(session: Session, *, name: str, redirect_uris: Iterable[str],
                    public: bool = False, first_party: bool = False, scope: str | None = None,
                    post_logout_redirect_uris: Iterable[str] = (),
                    backchannel_logout_uri: str | None = None, auth_method: str | None = None,
                    id_token_alg: str = "RS256", client_id: str | None = None,
                    client_secret: str | None = None, jwks: dict | None = None,
                    jwks_uri: str | None = None,
                    resources: Iterable[str] = ()) -> tuple[Client, str | None]:
    """Add a client; returns it and its secret in plain text (shown once, stored hashed)."""
    fields = _validated(name=name, redirect_uris=redirect_uris, public=public, scope=scope,
                        post_logout_redirect_uris=post_logout_redirect_uris,
                        backchannel_logout_uri=backchannel_logout_uri, auth_method=auth_method,
                        id_token_alg=id_token_alg, jwks=jwks, jwks_uri=jwks_uri,
                        resources=resources)
    secret = None
    if fields["auth_method"] in {"client_secret_basic", "client_secret_post"}:
        secret = client_secret or secrets.token_urlsafe(32)
    client = Client(client_id=client_id or secrets.token_urlsafe(16),
                    client_secret_hash=hash_secret(secret) if secret else None,
                    first_party=first_party, **fields)
    session.add(client)
    session.flush()
    return client, secret


def sync_config_clients(session: Session, entries: list[dict]) -> None:
    """Insert or update the ``[[clients]]`` tables; idempotent across restarts and workers."""
    for entry in entries:
        for attempt in range(2):
            try:
                _sync_one(session, entry)
                session.commit()
                break
            except IntegrityError:
                # Another worker registered it at the same moment: read theirs and update.
                session.rollback()
                if attempt:
                    raise


def check_config_clients(entries: list[dict]) -> None:
    """Refuse a ``[[clients]]`` table that would not register, before anything is written."""
    for entry in entries:
        _config_client(entry)


def _config_client(entry: dict) -> tuple[str, str | None, bool, dict]:
    """A ``[[clients]]`` table checked: its id, secret, whether it needs one, its fields."""
    client_id = entry.get("client_id")
    try:
        if not client_id:
            raise ValueError("a [[clients]] table needs client_id")
        fields = _validated(
            name=entry.get("name", ""), redirect_uris=entry.get("redirect_uris", []),
            public=bool(entry.get("public", False)), scope=entry.get("scope"),
            post_logout_redirect_uris=entry.get("post_logout_redirect_uris", []),
            backchannel_logout_uri=entry.get("backchannel_logout_uri"),
            auth_method=entry.get("auth_method"),
            id_token_alg=entry.get("id_token_alg", "RS256"),
            jwks=entry.get("jwks"), jwks_uri=entry.get("jwks_uri"),
            resources=entry.get("resources", []))
        secret = entry.get("client_secret")
        needs_secret = fields["auth_method"] in {"client_secret_basic", "client_secret_post"}
        if needs_secret and not secret:
            raise ValueError("a confidential client needs client_secret")
    except ValueError as exc:
        raise ConfigurationError(f"[[clients]] {client_id or '(no client_id)'}: {exc}") from None
    return client_id, secret, needs_secret, fields


def _sync_one(session: Session, entry: dict) -> None:
    client_id, secret, needs_secret, fields = _config_client(entry)
    client = session.get(Client, client_id)
    if client is None:
        client = Client(client_id=client_id)
        session.add(client)
    for key, value in fields.items():
        setattr(client, key, value)
    client.first_party = bool(entry.get("first_party", False))
    if needs_secret and not (client.client_secret_hash and client.check_client_secret(secret)):
        client.client_secret_hash = hash_secret(secret)
    elif not needs_secret:
        client.client_secret_hash = None


def remove_client(session: Session, client_id: str) -> bool:
    client = session.get(Client, client_id)
    if client is None:
        return False
    session.delete(client)
    session.flush()
    return True


def list_clients(session: Session) -> list[dict]:
    """Every client's registration, without secrets."""
    return [{"client_id": c.client_id, **{k: v for k, v in c.client_metadata.items()
                                          if v not in (None, [])},
             "first_party": c.first_party}
            for c in session.scalars(select(Client).order_by(Client.created_at))]
