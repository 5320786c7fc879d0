"""The PostgreSQL URL of the shared state: where its password may come from, and how it is shown.

Why these rules: config.toml is committed, copied and pasted into chats, so a password in it
leaks. The password comes from the URL in the CITEBOT_STATE_URL environment variable (which
overrides `log.state_url`) or from a `.pgpass` file (libpq's, read by the driver); a URL in
config.toml may name the host, port, user and database but not the password. Whenever the URL
is shown (logs, errors) its password is replaced by `***`.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from citebot.index.errors import ConfigError

STATE_URL_ENV = "CITEBOT_STATE_URL"
SCHEMES = ("postgresql", "postgres")


def has_password(url: str) -> bool:
    """True when the URL carries a password, in its user part or as a `password=` query parameter."""
    parts = urlsplit(url)
    return bool(parts.password) or any(key == "password" for key, _ in parse_qsl(parts.query))


def masked(url: str) -> str:
    """The URL with its password (if any) replaced by `***`: what logs and errors show."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            name = user.split(":", 1)[0]
            netloc = f"{name}:***@{host}"
        query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="/*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # unparseable: show nothing of it rather than a password
        return "<unparseable URL>"


def check_url(url: str, source: str) -> str:
    """A PostgreSQL URL from `source` (a key or an environment variable), checked; "" stays ""."""
    url = url.strip()
    if not url:
        return ""
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        raise ConfigError(f"{source} is not a URL ({exc})") from None
    if scheme not in SCHEMES:
        raise ConfigError(
            f"{source} must be a postgresql:// URL (or empty for the local SQLite file), got {masked(url)!r}"
        )
    return url


def config_url(url: str) -> str:
    """`log.state_url` as config.toml gives it: refused when it holds a password."""
    url = check_url(url, "log.state_url")
    if url and has_password(url):
        raise ConfigError(
            f"log.state_url in config.toml must not hold a password ({masked(url)}); put the whole "
            f"URL in the {STATE_URL_ENV} environment variable, or the password in a .pgpass file"
        )
    return url


def effective_url(configured: str, environ: dict[str, str] | None = None) -> str:
    """The URL to use: CITEBOT_STATE_URL when set (it may hold the password), else config.toml's."""
    env = (os.environ if environ is None else environ).get(STATE_URL_ENV, "")
    return check_url(env, STATE_URL_ENV) if env.strip() else configured
