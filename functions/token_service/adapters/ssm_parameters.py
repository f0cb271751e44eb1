"""Key rings from SSM Parameter Store through boto3: one batched, decrypted `GetParameters` call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from token_service.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class SsmParameterSource:
    """One batched, decrypted GetParameters call through Powertools' SSM provider."""

    def __init__(self, ssm_client: SSMClient) -> None:
        self._provider = SSMProvider(boto3_client=ssm_client)

    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        request: dict[str, dict[str, object]] = {name: {} for name in names}
        try:
            # max_age=0: KeyRingStore is the cache; Powertools' would only be a second copy.
            values = self._provider.get_parameters_by_name(parameters=request, decrypt=True, max_age=0)
        except (GetParameterError, BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("key rings could not be read from SSM") from error
        # Powertools answers InvalidKeyId and InternalServerError with a partial result.
        if values.keys() != request.keys():
            raise DependencyUnavailable("key rings could not be read from SSM")
        return cast("dict[str, str]", values)
