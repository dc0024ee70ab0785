import pytest
from django.conf import settings
from django.test import override_settings

from accounts.models import Role, TeamKind
from sla.bootstrap import agreement_bootstrap, teams_ensure
from tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _own_redis_cache_per_worker(worker_id):
    """Tests clear the cache (throttle counters); on Redis that is FLUSHDB, so each xdist worker gets its own
    database number or one worker's clear would wipe another's counters mid-test."""
    if not settings.REDIS_URL:
        yield
        return
    index = int(worker_id[2:]) if worker_id.startswith("gw") else 0
    base = settings.REDIS_URL.rsplit("/", 1)[0] if settings.REDIS_URL.count("/") > 2 else settings.REDIS_URL
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"{base}/{15 - index}"}
    with override_settings(CACHES={"default": redis_cache}):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 is deliberately slow; tests create many users and never need real hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests drive the outbox sender themselves; nothing should reach a real broker behind their back.
    settings.SLA_KICK_SENDER_ON_COMMIT = False


@pytest.fixture
def teams(db):
    return teams_ensure()


@pytest.fixture
def users(teams):
    """One user per role and team, the cast every scenario needs."""

    def make(username, team, role):
        return UserFactory(username=username, team=teams[team] if team else None, role=role)

    return {
        "marketer": make("marketer", TeamKind.MARKETING, Role.STAFF),
        "marketing_lead": make("marketing_lead", TeamKind.MARKETING, Role.TEAM_LEAD),
        "marketing_head": make("marketing_head", TeamKind.MARKETING, Role.DEPARTMENT_HEAD),
        "rep": make("rep", TeamKind.OUTREACH, Role.STAFF),
        "rep2": make("rep2", TeamKind.OUTREACH, Role.STAFF),
        "outreach_lead": make("outreach_lead", TeamKind.OUTREACH, Role.TEAM_LEAD),
        "outreach_head": make("outreach_head", TeamKind.OUTREACH, Role.DEPARTMENT_HEAD),
        "success": make("success", TeamKind.MEMBER_SUCCESS, Role.STAFF),
        "success_lead": make("success_lead", TeamKind.MEMBER_SUCCESS, Role.TEAM_LEAD),
        "success_head": make("success_head", TeamKind.MEMBER_SUCCESS, Role.DEPARTMENT_HEAD),
        "admin": UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True),
    }


@pytest.fixture
def agreement(users):
    """The template agreement (v1), signed by the three leads and active."""
    return agreement_bootstrap(
        signers={
            TeamKind.MARKETING: users["marketing_lead"],
            TeamKind.OUTREACH: users["outreach_lead"],
            TeamKind.MEMBER_SUCCESS: users["success_lead"],
        },
        by=users["admin"],
    )


@pytest.fixture
def signers(users):
    return {
        TeamKind.MARKETING: users["marketing_lead"],
        TeamKind.OUTREACH: users["outreach_lead"],
        TeamKind.MEMBER_SUCCESS: users["success_lead"],
    }


def pytest_report_header(config):
    return f"database: {settings.DATABASES['default']['ENGINE']}"
