from tests.live.conftest import redis_url  # noqa: F401  (the real Redis, for the API processes)
