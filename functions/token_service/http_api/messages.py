"""Every message the API answers with: the reference tutorial's contract plus our additions."""

ISSUED = "Token이 정상적으로 발급되었습니다."
REFRESHED = "Access Token을 새롭게 발급하였습니다."
REVOKED = "Refresh Token이 정상적으로 폐기되었습니다."
REVOKED_EVERYWHERE = "모든 기기의 Refresh Token이 정상적으로 폐기되었습니다."
SESSIONS_LISTED = "로그인된 세션 목록입니다."
SESSION_ENDED = "세션이 정상적으로 종료되었습니다."
HEALTH = "Hello Token!"


def validated(user_id: str) -> str:
    return f"{user_id}의 Payload를 가진 Token이 성공적으로 인증되었습니다."


# Bandit takes names with "TOKEN" for passwords (B105); these are messages.
ACCESS_TOKEN_MISSING = "Access Token이 존재하지 않습니다."  # nosec B105
ACCESS_TOKEN_INVALID = "Access Token이 유효하지 않습니다."  # nosec B105
REFRESH_TOKEN_MISSING = "Refresh Token이 존재하지 않습니다."  # nosec B105
REFRESH_TOKEN_INVALID = "Refresh Token이 유효하지 않습니다."  # nosec B105
REFRESH_SESSION_UNKNOWN = "Refresh Token의 정보가 서버에 존재하지 않습니다."

BODY_NOT_JSON_OBJECT = "요청 본문은 JSON 객체여야 합니다."
BODY_TOO_LARGE = "요청 본문이 너무 큽니다."
ALL_NOT_BOOLEAN = "all은 true 또는 false여야 합니다."
ID_INVALID = "id는 제어 문자가 없는 1자 이상 128자 이하의 문자열이어야 합니다."
SESSION_NOT_FOUND = "세션이 존재하지 않습니다."
SESSION_ID_INVALID = "sessionId는 영문, 숫자, -, _로 이루어진 22자여야 합니다."
LIMIT_INVALID = "limit은 1 이상 50 이하의 정수여야 합니다."
PAGE_TOKEN_INVALID = "pageToken이 유효하지 않습니다."  # nosec B105
QUERY_TOO_LONG = "쿼리 문자열이 너무 깁니다."
DEPENDENCY_UNAVAILABLE = "일시적으로 서비스를 이용할 수 없습니다. 잠시 후 다시 시도해 주세요."
INTERNAL_ERROR = "서버 내부 오류가 발생했습니다."
