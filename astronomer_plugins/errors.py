"""The exceptions of astronomer_plugins, one tree.

AstronomerError               anything raised on purpose by this package
 └─ AstronomerConfigError     a setting in [astronomer] is missing or invalid (also a ValueError)
"""

from __future__ import annotations


class AstronomerError(Exception):
    """Base of every error this package raises on purpose."""


class AstronomerConfigError(AstronomerError, ValueError):
    """A setting is missing or invalid; the message names the key and its environment variable."""
