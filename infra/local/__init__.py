"""The local stand-in for API Gateway, with an embedded AWS endpoint: `python -m infra.local` (`make run`).

`deployment.LocalDeployment` starts both halves for the command and the tests; `sam_local` runs the
real `sam local start-api` against the same endpoint instead.
"""


class LocalDeploymentError(RuntimeError):
    """The local deployment cannot serve the template faithfully."""
