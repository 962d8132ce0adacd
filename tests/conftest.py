"""Shared fixtures: both back ends (embedded SQLite and the real PostgreSQL), app, client, tokens.

Every test function that uses ``app``/``client`` runs once per back end. Each test run makes its
own PostgreSQL database (dropped at the end); PostgreSQL tests skip when the server is missing,
except under CI=true, where they fail.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.api.app import create_app
from gridpilot.auth.dependencies import token_config
from gridpilot.auth.models import User, UserSite
from gridpilot.auth.passwords import hash_password
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import encode_access_token
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.metadata import target_metadata
from gridpilot.db.migrate import upgrade

#: ``inbox`` and ``smtp_port``: a real SMTP server for the tests that send e-mail
pytest_plugins = ["tests.smtp_server"]

PG_HOST = os.environ.get("GRIDPILOT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("GRIDPILOT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("GRIDPILOT_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_JWT_SECRET = "test-secret-" + "x" * 40

BACKENDS = ["sqlite", "postgresql"]


async def _pg_admin() -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")


def _service_missing(what: str, error: BaseException) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but unreachable: {error}")
    pytest.skip(f"{what} not reachable: {error}")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gridpilot")


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    name = f"gridpilot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await _pg_admin()
    except (OSError, asyncpg.PostgresError) as exc:
        _service_missing("PostgreSQL", exc)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    engine = make_engine(Settings(database_url=url))
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def sqlite_url(data_root: Path) -> str:
    url = f"sqlite:///{(data_root / 'test.db').as_posix()}"
    engine = make_engine(Settings(database_url=url))
    await upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    fixture = "postgres_url" if backend == "postgresql" else "sqlite_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def settings(database_url: str, data_root: Path, settings_overrides: dict[str, object]) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_root,
        "jwt_secret": TEST_JWT_SECRET,
        "log_json": False,
        "auto_migrate": False,
        "auth_rate_limit_per_min": 100_000,
        "login_rate_limit_per_min": 100_000,
        "api_rate_limit_per_min": 0,  # tests flood from one address; tests/api/test_ratelimit.py
        "web_enabled": False,  # NiceGUI is process-global: browser tests run their own server
        "gc_tuning": False,  # gc.freeze would keep every test's app alive
        "warm_up_routes": False,  # each app would prepare its ~400 routes in a thread
    }
    values.update(settings_overrides)
    return Settings(**values)  # type: ignore[arg-type]


#: Tables a test starts without rows from an earlier test: every table of every domain
#: (``db/metadata.py``), children first, but the metric catalogue (built-in metrics).
KEPT_TABLES = frozenset({"metrics"})


async def _clean(sessions: async_sessionmaker[AsyncSession]) -> None:
    tables = [
        t.name for t in reversed(target_metadata().sorted_tables) if t.name not in KEPT_TABLES
    ]
    async with sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await session.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator:
    """A started gridpilot app on a clean database of the parametrised back end."""
    application = create_app(settings)
    await _clean(application.state.sessions)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def sessions(app) -> async_sessionmaker[AsyncSession]:
    return app.state.sessions


UserFactory = Callable[..., Awaitable[User]]


@functools.cache
def _hashed(password: str) -> str:
    """argon2 hashes made once per test run (each costs ~50 ms of CPU; a fresh salt per user
    adds nothing the tests check)."""
    return hash_password(password)


@pytest.fixture
def make_user(sessions: async_sessionmaker[AsyncSession]) -> UserFactory:
    """Create a user: ``await make_user("ann", Role.OPERATOR, password="pw", sites=[1])``."""

    async def factory(
        username: str,
        role: Role | str = Role.VIEWER,
        *,
        password: str = "correct horse battery staple",
        sites: list[int] | None = None,
    ) -> User:
        async with sessions() as session, session.begin():
            user = User(
                username=username,
                password_hash=_hashed(password),
                role=Role(role).value,
                disabled=False,
                site_restricted=sites is not None,
            )
            session.add(user)
            await session.flush()
            for site_id in sites or []:
                session.add(UserSite(user_id=user.id, site_id=site_id))
        return user

    return factory


HeadersFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def auth_headers(app, make_user: UserFactory) -> HeadersFactory:
    """Bearer headers for a new user of ``role`` (optionally limited to ``sites``)."""

    async def factory(
        role: Role | str = Role.ADMINISTRATOR, sites: list[int] | None = None
    ) -> dict[str, str]:
        user = await make_user(f"{Role(role).value}-{uuid.uuid4().hex[:8]}", role, sites=sites)
        token = encode_access_token(
            token_config(app.state.settings),
            f"user:{user.id}",
            {"role": user.role, "name": user.username, "sites": sites},
        )
        return {"Authorization": f"Bearer {token}"}

    return factory


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgres)
