"""storage artifacts layer."""
