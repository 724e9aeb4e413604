"""storage metadata layer."""
