"""The real S3-compatible server on loopback (see tests/s3.py) for the tests here."""

from tests.s3 import s3, s3_server  # noqa: F401 - fixtures
