"""Every member's statement read at once (``statement_batch.member_statements``: the settlement
read once) gives the rows, titles and file names of the one-member statement behind
``GET .../statements/{member}.csv``; a member the caller may not see is a 404 as there. Both
back ends."""

from __future__ import annotations

import pytest
from tests.community.test_settlements import settle, settlement_community

from gridpilot.auth.permissions import Principal, Role
from gridpilot.community import settlements
from gridpilot.community.statement_batch import member_statements
from gridpilot.core.errors import NotFound
from gridpilot.sim.provision import SIMULATOR


async def test_statements_read_at_once_equal_the_one_member_statements(
    client, admin, person, sessions
):
    cer = await settlement_community(client, admin, person)
    _, body = await settle(client, admin, cer["id"])
    members = cer["members"]
    async with sessions() as session:
        batch = await member_statements(
            session=session, principal=SIMULATOR, community_id=cer["id"], settlement_id=body["id"]
        )
        assert sorted(s.member_id for s in batch) == sorted(members.values())
        for statement in batch:
            rows, title, stem = await settlements.member_statement(
                session=session,
                principal=SIMULATOR,
                community_id=cer["id"],
                settlement_id=body["id"],
                member_id=statement.member_id,
            )
            assert (statement.rows, statement.title, statement.stem) == (rows, title, stem)
        ann = next(s for s in batch if s.member_id == members["ann"])
        assert ("plant IT001E00000001", "incentive", "36.00", "EUR") in ann.rows


async def test_a_member_sees_only_their_own_statement(client, admin, person, sessions):
    cer = await settlement_community(client, admin, person)
    _, body = await settle(client, admin, cer["id"])
    members = cer["members"]
    bob_user = await _user_of(sessions, members["bob"])
    bob = Principal(subject=f"user:{bob_user}", name="bob", role=Role.VIEWER, user_id=bob_user)
    async with sessions() as session:
        own = await member_statements(
            session=session,
            principal=bob,
            community_id=cer["id"],
            settlement_id=body["id"],
            member_ids=[members["bob"]],
        )
        assert [s.member_id for s in own] == [members["bob"]]
        for ids in (None, [members["bob"], members["carl"]], [10**9]):
            with pytest.raises(NotFound):
                await member_statements(
                    session=session,
                    principal=bob if ids != [10**9] else SIMULATOR,
                    community_id=cer["id"],
                    settlement_id=body["id"],
                    member_ids=ids,
                )


async def _user_of(sessions, member_id: int) -> int:
    from gridpilot.community.models import Member

    async with sessions() as session:
        member = await session.get(Member, member_id)
        assert member is not None and member.user_id is not None
        return int(member.user_id)
