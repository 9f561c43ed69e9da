"""Conversations: direct (two people, found again when created twice), group (title,
admins, members) and announcement (only admins write). Members are from one org only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from staffroom.chat.schemas import (
    ConversationIn,
    ConversationList,
    ConversationOut,
    ConversationPatch,
    MemberOut,
    MemberPage,
    MembersIn,
)
from staffroom.chat.service import access, credentials, outbox
from staffroom.chat.service.rows import ConversationRow, MyConversation
from staffroom.chat.tables import Conversation, Member, Message
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.db.pages import decode_cursor, encode_cursor
from staffroom.core.db.rows import row_as
from staffroom.core.db.sql import as_uuid, fetch, in_list, transaction
from staffroom.core.errors import Forbidden, Invalid
from staffroom.core.runtime import Runtime

MAX_MEMBERS = 5000


async def create(
    rt: Runtime, principal: Principal, data: ConversationIn, ctx: RequestContext
) -> tuple[ConversationOut, bool]:
    """Start a conversation; (conversation, created) - a direct one may already exist."""
    others = [
        u for u in await access.colleagues(principal, data.user_ids) if u != principal.user_id
    ]
    if data.kind == "direct":
        if len(others) != 1:
            raise Invalid("direct_needs_one", "A direct conversation is with exactly one person.")
        pair = sorted([str(principal.user_id), str(others[0])])
        direct_key = ":".join(pair)
        existing = await _direct(principal.org_id, direct_key)
        if existing is not None:
            return await get(principal, existing), False
    else:
        direct_key = None
        if data.kind == "announcement" and not principal.can("chat.moderate"):
            raise Forbidden("forbidden", "Starting announcement conversations needs chat.moderate.")
        if not data.title.strip():
            raise Invalid("title_required", "Give the conversation a title.")
    conversation_id = uuid.uuid4()
    channel = access.channel_name(principal.org_id)
    now = clock.utcnow()
    creator_role = "member" if data.kind == "direct" else "admin"
    with unique_or(None) as clash:
        async with transaction(Conversation):
            await Conversation.insert(
                Conversation(
                    id=conversation_id,
                    org=principal.org_id,
                    kind=data.kind,
                    title=data.title.strip(),
                    direct_key=direct_key,
                    channel=channel,
                    cipher_key=access.new_cipher_key(rt.keys, principal.org_id, channel),
                    created_by=principal.user_id,
                    created_at=now,
                )
            )
            await _add(principal.org_id, conversation_id, [principal.user_id], creator_role)
            await _add(principal.org_id, conversation_id, others, "member")
            # Everyone in it hears of it, on their own (their other devices too for its
            # creator): an app subscribed only to its conversations would never know.
            _, position = await outbox.bump(conversation_id)
            everyone = [principal.user_id, *others]
            await outbox.enqueue_inbox(
                rt, principal.org_id, conversation_id, position, True, everyone, "created"
            )
    if clash.violation is not None:
        # Both members started their direct conversation at once: the first one stands.
        existing = await _direct(principal.org_id, direct_key) if direct_key else None
        if existing is None:
            raise clash.violation
        return await get(principal, existing), False
    outbox.wake(rt)
    await audit.by(principal, ctx, "chat.conversation_created", ("conversation", conversation_id))
    return await get(principal, conversation_id), True


async def _direct(org_id: uuid.UUID, direct_key: str) -> uuid.UUID | None:
    row = (
        await Conversation.select(Conversation.id)
        .where((Conversation.org == org_id) & (Conversation.direct_key == direct_key))
        .first()
    )
    return row["id"] if row else None


async def _add(
    org_id: uuid.UUID, conversation_id: uuid.UUID, user_ids: list[uuid.UUID], role: str
) -> None:
    if not user_ids:
        return
    now = clock.utcnow()
    await Member.insert(
        *(
            Member(
                id=uuid.uuid4(),
                org=org_id,
                conversation=conversation_id,
                user=user_id,
                role=role,
                joined_at=now,
            )
            for user_id in user_ids
        )
    )


# The members shown with a conversation: all of a smaller one, the first to join of a
# larger one (an announcement to the whole company has thousands); the rest come a page
# at a time from GET …/members.
MEMBERS_SHOWN = 50


# Each conversation's first members with their names and every conversation's member
# count, in one statement.
_SHOWN = (
    'SELECT s.conversation, s."user" AS user_id, s.role, s.total, u.display_name FROM ('
    'SELECT m.conversation, m."user", m.role,'
    " ROW_NUMBER() OVER (PARTITION BY m.conversation ORDER BY m.joined_at, m.id) AS n,"
    " COUNT(*) OVER (PARTITION BY m.conversation) AS total"
    " FROM chat_member m WHERE m.conversation IN ({ids})) s"
    ' LEFT JOIN app_user u ON u.id = s."user" WHERE s.n <= {{}} ORDER BY s.conversation, s.n'
)
# The caller's role and read position come with each conversation.
Mine = dict[uuid.UUID, tuple[str, int]]


async def _outs(
    principal: Principal, rows: Sequence[ConversationRow], mine: Mine
) -> list[ConversationOut]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    shown = await fetch(Member, _SHOWN.format(ids=in_list(ids)), *ids, MEMBERS_SHOWN)
    unread = await unread_counts(principal, ids)
    members: dict[uuid.UUID, list[MemberOut]] = {i: [] for i in ids}
    counts: dict[uuid.UUID, int] = {}
    for m in shown:
        conversation = as_uuid(m["conversation"])
        members[conversation].append(
            MemberOut(
                user_id=as_uuid(m["user_id"]), display_name=m["display_name"] or "", role=m["role"]
            )
        )
        counts[conversation] = int(m["total"])
    return [
        ConversationOut(
            id=conversation_id,
            kind=row.kind,
            title=row.title,
            members=members[conversation_id],
            member_count=counts.get(conversation_id, 0),
            my_role=mine[conversation_id][0],
            last_seq=row.last_seq,
            read_seq=mine[conversation_id][1],
            unread=unread.get(conversation_id, 0),
            last_message_at=row.last_message_at,
            created_at=row.created_at,
        )
        for conversation_id, row in zip(ids, rows, strict=True)
    ]


_UNREAD = (
    "SELECT m.conversation AS conversation, COUNT(*) AS unread"
    " FROM chat_message m JOIN chat_member b"
    ' ON b.conversation = m.conversation AND b."user" = {{}}'
    " WHERE m.conversation IN ({ids}) AND m.seq > b.read_seq"
    " AND m.deleted_at IS NULL AND (m.sender IS NULL OR m.sender <> {{}})"
    " GROUP BY m.conversation"
)


async def unread_counts(principal: Principal, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Messages from others after the caller's read position in these conversations."""
    sql = _UNREAD.format(ids=in_list(ids))
    rows = await fetch(Message, sql, principal.user_id, *ids, principal.user_id)
    return {as_uuid(r["conversation"]): int(r["unread"]) for r in rows}


async def get(principal: Principal, conversation_id: uuid.UUID) -> ConversationOut:
    """One conversation of the caller's."""
    conversation, member = await access.membership(principal, conversation_id)
    mine = {conversation.id: (member.role, member.read_seq)}
    return (await _outs(principal, [conversation], mine))[0]


# The caller's conversations, most recently active first (keyset pages).
_ACTIVE = "COALESCE(c.last_message_at, c.created_at)"
_MINE = (
    "SELECT c.*, b.role AS my_role, b.read_seq AS my_read_seq"
    " FROM chat_member b JOIN chat_conversation c ON c.id = b.conversation"
    ' WHERE b."user" = {} AND b.org = {} AND c.org = {}'
)
_MINE_AFTER = f" AND ({_ACTIVE} < {{}} OR ({_ACTIVE} = {{}} AND c.id < {{}}))"
_MINE_ORDER = f" ORDER BY {_ACTIVE} DESC, c.id DESC LIMIT {{}}"


async def list_mine(principal: Principal, cursor: str | None, limit: int) -> ConversationList:
    """The caller's conversations, most recently active first, with unread counts."""
    sql, args = _MINE, list[Any]([principal.user_id, principal.org_id, principal.org_id])
    if cursor:
        stamp, after_id = decode_cursor(cursor)
        sql, args = sql + _MINE_AFTER, [*args, stamp, stamp, after_id]
    rows = await fetch(Conversation, sql + _MINE_ORDER, *args, limit + 1)
    page = [row_as(MyConversation, r) for r in rows[:limit]]
    mine = {c.id: (c.my_role, c.my_read_seq) for c in page}
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last.last_message_at or last.created_at, last.id)
    return ConversationList(items=await _outs(principal, page, mine), next_cursor=next_cursor)


_MEMBER_PAGE = (
    'SELECT m.id, m."user" AS user_id, m.role, m.joined_at, u.display_name'
    ' FROM chat_member m LEFT JOIN app_user u ON u.id = m."user" WHERE m.conversation = {}'
)
_MEMBER_AFTER = " AND (m.joined_at > {} OR (m.joined_at = {} AND m.id > {}))"
_MEMBER_ORDER = " ORDER BY m.joined_at, m.id LIMIT {}"


async def list_members(
    principal: Principal, conversation_id: uuid.UUID, cursor: str | None, limit: int
) -> MemberPage:
    """A conversation's members in the order they joined (its members only)."""
    await access.membership(principal, conversation_id)
    sql, args = _MEMBER_PAGE, list[Any]([conversation_id])
    if cursor:
        stamp, after_id = decode_cursor(cursor)
        sql, args = sql + _MEMBER_AFTER, [*args, stamp, stamp, after_id]
    rows = await fetch(Member, sql + _MEMBER_ORDER, *args, limit + 1)
    page = rows[:limit]
    items = [
        MemberOut(
            user_id=as_uuid(r["user_id"]), display_name=r["display_name"] or "", role=r["role"]
        )
        for r in page
    ]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(page[-1]["joined_at"], as_uuid(page[-1]["id"]))
    return MemberPage(items=items, next_cursor=next_cursor)


async def patch(
    rt: Runtime,
    principal: Principal,
    conversation_id: uuid.UUID,
    data: ConversationPatch,
    ctx: RequestContext,
) -> ConversationOut:
    """Rename a group or announcement conversation (its admins)."""
    conversation, member = await access.membership(principal, conversation_id)
    access.require_admin(conversation, member)
    if isinstance(data.title, str):
        title = data.title.strip()
        if not title:
            raise Invalid("title_required", "Give the conversation a title.")
        async with transaction(Conversation):
            await Conversation.update({Conversation.title: title}).where(
                Conversation.id == conversation_id
            )
            _, position = await outbox.bump(conversation_id)
            await outbox.enqueue(
                rt,
                principal.org_id,
                conversation_id,
                position,
                "conversation.updated",
                data={"title": title},
            )
        outbox.wake(rt)
        await audit.by(
            principal, ctx, "chat.conversation_renamed", ("conversation", conversation_id)
        )
    return await get(principal, conversation_id)


async def add_members(
    rt: Runtime,
    principal: Principal,
    conversation_id: uuid.UUID,
    data: MembersIn,
    ctx: RequestContext,
) -> ConversationOut:
    """Add people to a group or announcement conversation (its admins)."""
    conversation, member = await access.membership(principal, conversation_id)
    access.require_admin(conversation, member)
    wanted = await access.colleagues(principal, data.user_ids)
    present = {
        m["user"]
        for m in await Member.select(Member.user).where(Member.conversation == conversation_id)
    }
    new = [u for u in wanted if u not in present]
    if len(present) + len(new) > MAX_MEMBERS:
        raise Invalid("too_many_members", f"A conversation has at most {MAX_MEMBERS} members.")
    if new:
        async with transaction(Conversation):
            _, position = await outbox.bump(conversation_id)
            await _add(principal.org_id, conversation_id, new, data.role)
            await outbox.enqueue(
                rt,
                principal.org_id,
                conversation_id,
                position,
                "member.added",
                data={"user_ids": [str(u) for u in new]},
            )
            await outbox.enqueue_inbox(
                rt, principal.org_id, conversation_id, position, True, new, "added"
            )
        outbox.wake(rt)
        await audit.by(
            principal,
            ctx,
            "chat.members_added",
            ("conversation", conversation_id),
            {"user_ids": [str(u) for u in new]},
        )
    return await get(principal, conversation_id)


async def remove_member(
    rt: Runtime,
    principal: Principal,
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    ctx: RequestContext,
) -> None:
    """Remove someone (admins), or leave (anyone but in a direct conversation). The removed
    person's PubNub tokens are revoked; new ones no longer include this conversation."""
    conversation, member = await access.membership(principal, conversation_id)
    if user_id != principal.user_id:
        access.require_admin(conversation, member)
    elif conversation.kind == "direct":
        raise Forbidden("direct_conversation", "A direct conversation has exactly two people.")
    async with transaction(Conversation):
        gone = await (
            Member.delete()
            .where((Member.conversation == conversation_id) & (Member.user == user_id))
            .returning(Member.id)
        )
        if not gone:
            raise access.not_found()
        _, position = await outbox.bump(conversation_id)
        await outbox.enqueue(
            rt,
            principal.org_id,
            conversation_id,
            position,
            "member.removed",
            data={"user_ids": [str(user_id)]},
        )
        reason = "left" if user_id == principal.user_id else "removed"
        await outbox.enqueue_inbox(
            rt, principal.org_id, conversation_id, position, False, [user_id], reason
        )
        await credentials.revoke_for_user(principal.org_id, user_id, conversation_id, position)
    outbox.wake(rt)
    await audit.by(
        principal,
        ctx,
        "chat.member_removed",
        ("conversation", conversation_id),
        {"user_id": str(user_id)},
    )
