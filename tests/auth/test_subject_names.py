"""Who did something, by name: ``user:<id>`` subjects become user names, others stay."""

from __future__ import annotations

from gridpilot.auth.service import create_user, subject_names


async def test_user_subjects_become_names_and_others_stay_as_they_are(sessions):
    async with sessions() as session, session.begin():
        user = await create_user(
            session=session, username="night-shift", password="a-long-password-1", role="operator"
        )
    subjects = {f"user:{user.id}", "user:999999", "key:abc123", "simulator"}
    async with sessions() as session:
        names = await subject_names(session=session, subjects=subjects)
    assert names == {
        f"user:{user.id}": "night-shift",
        "user:999999": "user:999999",  # a deleted user keeps its subject
        "key:abc123": "key:abc123",
        "simulator": "simulator",
    }
