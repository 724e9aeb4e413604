"""Bundled data sets (UCI, CC BY 4.0), copied from the shared data folder."""
