"""Operations around the service: key-ring commands and the local stack."""
