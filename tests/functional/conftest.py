"""In-process tests: the real handlers and domain over moto-backed clients."""

from tests.support.aws_fixtures import aws, dynamodb, log_output, provisioned, service, settings, ssm, template

__all__ = ["aws", "dynamodb", "log_output", "provisioned", "service", "settings", "ssm", "template"]
