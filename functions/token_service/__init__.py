"""token-service: JWT access and refresh tokens on AWS Lambda."""
