"""The model registry: register versions with lineage, move aliases, load verified bundles."""

from loopml.registry.registry import load_bundle, promote, register_model, resolve_model

__all__ = ["load_bundle", "promote", "register_model", "resolve_model"]
