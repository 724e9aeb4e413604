"""interfaces cli layer."""
