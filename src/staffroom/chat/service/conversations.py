"""Conversations: direct (two people, found again when created twice), group (title,
admins, members) and announcement (only admins write). Members are from one org only."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.service import members as people
from staffroom.chat.schemas import (
    ConversationIn,
    ConversationList,
    ConversationOut,
    ConversationPatch,
    MemberOut,
    MembersIn,
)
from staffroom.chat.service import access, credentials, outbox
from staffroom.chat.tables import Conversation, Member, Message
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db import decode_cursor, encode_cursor, fetch, is_unique_violation
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
    try:
        async with Conversation._meta.db.transaction():
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
    except Exception as exc:
        if direct_key is not None and is_unique_violation(exc):  # both started it at once
            existing = await _direct(principal.org_id, direct_key)
            if existing is not None:
                return await get(principal, existing), False
        raise
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


async def _outs(principal: Principal, rows: list[dict[str, Any]]) -> list[ConversationOut]:
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    all_members = await Member.select().where(Member.conversation.is_in(ids))
    names = await people.display_names([m["user"] for m in all_members])
    unread = await unread_counts(principal, ids)
    by_conv: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for m in all_members:
        by_conv[m["conversation"]].append(m)
    out = []
    for row in rows:
        mine = next(m for m in by_conv[row["id"]] if m["user"] == principal.user_id)
        out.append(
            ConversationOut(
                id=row["id"],
                kind=row["kind"],
                title=row["title"],
                members=[
                    MemberOut(
                        user_id=m["user"], display_name=names.get(m["user"], ""), role=m["role"]
                    )
                    for m in sorted(by_conv[row["id"]], key=lambda m: m["joined_at"])
                ],
                my_role=mine["role"],
                last_seq=row["last_seq"],
                read_seq=mine["read_seq"],
                unread=unread.get(row["id"], 0),
                last_message_at=row["last_message_at"],
                created_at=row["created_at"],
            )
        )
    return out


async def unread_counts(principal: Principal, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Messages from others after the caller's read position, per conversation, one query."""
    rows = await fetch(
        Message,
        "SELECT m.conversation AS conversation, COUNT(*) AS unread"
        " FROM chat_message m JOIN chat_member b"
        ' ON b.conversation = m.conversation AND b."user" = {}'
        " WHERE m.seq > b.read_seq AND m.deleted_at IS NULL"
        " AND (m.sender IS NULL OR m.sender <> {})"
        " GROUP BY m.conversation",
        principal.user_id,
        principal.user_id,
    )
    wanted = set(ids)
    result = {}
    for r in rows:
        conversation = r["conversation"]
        conversation = (
            conversation if isinstance(conversation, uuid.UUID) else uuid.UUID(conversation)
        )
        if conversation in wanted:
            result[conversation] = int(r["unread"])
    return result


async def get(principal: Principal, conversation_id: uuid.UUID) -> ConversationOut:
    """One conversation of the caller's."""
    conversation, _ = await access.membership(principal, conversation_id)
    return (await _outs(principal, [conversation]))[0]


async def list_mine(principal: Principal, cursor: str | None, limit: int) -> ConversationList:
    """The caller's conversations, most recently active first, with unread counts."""
    mine = await Member.select(Member.conversation).where(
        (Member.user == principal.user_id) & (Member.org == principal.org_id)
    )
    if not mine:
        return ConversationList(items=[], next_cursor=None)
    rows = await Conversation.select().where(
        Conversation.id.is_in([m["conversation"] for m in mine])
    )

    def activity(row: dict[str, Any]) -> tuple[Any, str]:
        return (row["last_message_at"] or row["created_at"], str(row["id"]))

    rows.sort(key=activity, reverse=True)
    if cursor:
        stamp, after_id = decode_cursor(cursor)
        rows = [r for r in rows if activity(r) < (stamp, str(after_id))]
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last["last_message_at"] or last["created_at"], last["id"])
    return ConversationList(items=await _outs(principal, page), next_cursor=next_cursor)


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
        async with Conversation._meta.db.transaction():
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
        async with Conversation._meta.db.transaction():
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
    elif conversation["kind"] == "direct":
        raise Forbidden("direct_conversation", "A direct conversation has exactly two people.")
    async with Conversation._meta.db.transaction():
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
        await credentials.revoke_for_user(principal.org_id, user_id, conversation_id, position)
    outbox.wake(rt)
    await audit.by(
        principal,
        ctx,
        "chat.member_removed",
        ("conversation", conversation_id),
        {"user_id": str(user_id)},
    )
