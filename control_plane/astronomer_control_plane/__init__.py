"""The reference control plane: identity (OIDC-style), management API, registration, metrics ingest,
revocation list and update feed, for local development and tests."""
