from tests.integration.api.conftest import aws

__all__ = ["aws"]
