"""Talking to the control plane: the wire models (shared with the reference control plane) and the
HTTP client. Imported only by the features that talk to the control plane, never at plugin import."""
