"""Administration: users, groups, org settings, roles and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.accounts.schemas import (
    AuditPage,
    GroupIn,
    GroupList,
    GroupMembersIn,
    GroupOut,
    GroupPatch,
    OrgOut,
    OrgPatch,
    RoleIn,
    RoleList,
    RoleOut,
    RolePatch,
    UserOut,
    UserPage,
    UserPatch,
)
from staffroom.accounts.service import audit_log, groups, mfa, orgs, roles, users
from staffroom.core.web import Ctx, Cursor, Instant, Limit, Me, Rt, errors, instant

Search = Annotated[str | None, Parameter(max_length=200)]


class UsersController(Controller):
    path = "/users"
    tags = ["users"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="list_users",
        summary="Search the staff directory",
        description="`q` matches part of a name, email address, username or employee id; "
        "`mfa` true or false: with or without a confirmed authenticator app.",
        guards=[requires("users.read")],
        responses=errors(401, 403, 422),
    )
    async def list_users(
        self,
        me: Me,
        q: FromQuery[Search] = None,
        status: FromQuery[Literal["active", "deactivated", "pending"] | None] = None,
        role: FromQuery[Search] = None,
        group_id: FromQuery[uuid.UUID | None] = None,
        mfa: FromQuery[bool | None] = None,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 50,
    ) -> UserPage:
        return await users.list_users(
            me,
            q=q,
            status=status,
            role=role,
            group_id=group_id,
            cursor=cursor,
            limit=limit,
            mfa=mfa,
        )

    @get(
        "/{user_id:uuid}",
        operation_id="get_user",
        summary="One user",
        guards=[requires("users.read")],
        responses=errors(401, 403, 404),
    )
    async def get_user(self, user_id: FromPath[uuid.UUID], me: Me) -> UserOut:
        return await users.get_user(me, user_id)

    @patch(
        "/{user_id:uuid}",
        operation_id="update_user",
        summary="Change a user's name, role or groups",
        guards=[requires("users.manage")],
        responses=errors(401, 403, 404, 409, 422),
    )
    async def update_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserPatch],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> UserOut:
        return await users.patch_user(rt, me, user_id, data, ctx)

    @post(
        "/{user_id:uuid}/deactivate",
        status_code=HTTP_200_OK,
        operation_id="deactivate_user",
        summary="Block a user and end all their sessions",
        guards=[requires("users.manage")],
        responses=errors(401, 403, 404, 409),
    )
    async def deactivate(self, user_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> UserOut:
        return await users.deactivate(rt, me, user_id, ctx)

    @post(
        "/{user_id:uuid}/reactivate",
        status_code=HTTP_200_OK,
        operation_id="reactivate_user",
        summary="Let a deactivated user sign in again",
        guards=[requires("users.manage")],
        responses=errors(401, 403, 404, 409),
    )
    async def reactivate(self, user_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> UserOut:
        return await users.reactivate(me, user_id, ctx)

    @delete(
        "/{user_id:uuid}/mfa",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="reset_user_mfa",
        summary="Remove a user's second factor (lost device)",
        guards=[requires("users.mfa_reset")],
        responses=errors(401, 403, 404),
    )
    async def reset_mfa(self, user_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> None:
        await mfa.admin_reset(rt, me, user_id, ctx)


class GroupsController(Controller):
    path = "/groups"
    tags = ["groups"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="list_groups",
        summary="All groups",
        guards=[requires("users.read")],
        responses=errors(401, 403),
    )
    async def list_groups(
        self, me: Me, kind: FromQuery[Literal["department", "location", "team"] | None] = None
    ) -> GroupList:
        return GroupList(items=await groups.list_groups(me, kind))

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_group",
        summary="Create a department, location or team",
        guards=[requires("groups.manage")],
        responses=errors(401, 403, 409, 422),
    )
    async def create_group(self, data: JSONBody[GroupIn], me: Me, ctx: Ctx) -> GroupOut:
        return await groups.create_group(me, data, ctx)

    @get(
        "/{group_id:uuid}",
        operation_id="get_group",
        summary="One group",
        guards=[requires("users.read")],
        responses=errors(401, 403, 404),
    )
    async def get_group(self, group_id: FromPath[uuid.UUID], me: Me) -> GroupOut:
        return await groups.get_group(me, group_id)

    @patch(
        "/{group_id:uuid}",
        operation_id="update_group",
        summary="Rename or describe a group",
        guards=[requires("groups.manage")],
        responses=errors(401, 403, 404, 409, 422),
    )
    async def update_group(
        self, group_id: FromPath[uuid.UUID], data: JSONBody[GroupPatch], me: Me, ctx: Ctx
    ) -> GroupOut:
        return await groups.patch_group(me, group_id, data, ctx)

    @delete(
        "/{group_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_group",
        summary="Delete a group",
        guards=[requires("groups.manage")],
        responses=errors(401, 403, 404),
    )
    async def delete_group(self, group_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> None:
        await groups.delete_group(rt, me, group_id, ctx)

    @get(
        "/{group_id:uuid}/members",
        operation_id="list_group_members",
        summary="The users in a group",
        guards=[requires("users.read")],
        responses=errors(401, 403, 404, 422),
    )
    async def list_members(
        self,
        group_id: FromPath[uuid.UUID],
        me: Me,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 50,
    ) -> UserPage:
        return await groups.list_members(me, group_id, cursor, limit)

    @post(
        "/{group_id:uuid}/members",
        status_code=HTTP_200_OK,
        operation_id="add_group_members",
        summary="Add users to a group",
        guards=[requires("groups.manage")],
        responses=errors(401, 403, 404, 422),
    )
    async def add_members(
        self,
        group_id: FromPath[uuid.UUID],
        data: JSONBody[GroupMembersIn],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> GroupOut:
        return await groups.add_members(rt, me, group_id, data.user_ids, ctx)

    @delete(
        "/{group_id:uuid}/members/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="remove_group_member",
        summary="Take a user out of a group",
        guards=[requires("groups.manage")],
        responses=errors(401, 403, 404),
    )
    async def remove_member(
        self,
        group_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> None:
        await groups.remove_member(rt, me, group_id, user_id, ctx)


class OrgController(Controller):
    path = "/org"
    tags = ["org"]
    security = [{"bearer": []}]

    @get("", operation_id="get_org", summary="The caller's organisation", responses=errors(401))
    async def get_org(self, me: Me) -> OrgOut:
        return await orgs.get_org(me)

    @patch(
        "",
        operation_id="update_org",
        summary="Change organisation settings (MFA policy, password login, language)",
        guards=[requires("org.manage")],
        responses=errors(401, 403),
    )
    async def update_org(self, data: JSONBody[OrgPatch], me: Me, rt: Rt, ctx: Ctx) -> OrgOut:
        return await orgs.patch_org(rt, me, data, ctx)


RoleKey = Annotated[str, Parameter(max_length=64)]


class RolesController(Controller):
    path = "/roles"
    tags = ["roles"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="list_roles",
        summary="Built-in and custom roles",
        guards=[requires("users.read")],
        responses=errors(401, 403),
    )
    async def list_roles(self, me: Me) -> RoleList:
        return RoleList(items=await roles.list_roles(me))

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_role",
        summary="Create a custom role",
        guards=[requires("roles.manage")],
        responses=errors(401, 403, 409, 422),
    )
    async def create_role(self, data: JSONBody[RoleIn], me: Me, rt: Rt, ctx: Ctx) -> RoleOut:
        return await roles.create_role(rt, me, data, ctx)

    @patch(
        "/{key:str}",
        operation_id="update_role",
        summary="Change a custom role",
        guards=[requires("roles.manage")],
        responses=errors(401, 403, 404, 422),
    )
    async def update_role(
        self,
        key: FromPath[RoleKey],
        data: JSONBody[RolePatch],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> RoleOut:
        return await roles.patch_role(rt, me, key, data, ctx)

    @delete(
        "/{key:str}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_role",
        summary="Delete a custom role nobody holds",
        guards=[requires("roles.manage")],
        responses=errors(401, 403, 404, 409),
    )
    async def delete_role(self, key: FromPath[RoleKey], me: Me, rt: Rt, ctx: Ctx) -> None:
        await roles.delete_role(rt, me, key, ctx)


class AuditController(Controller):
    path = "/audit-events"
    tags = ["audit"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="list_audit_events",
        summary="The audit log, newest first",
        guards=[requires("audit.read")],
        responses=errors(401, 403, 422),
    )
    async def list_events(
        self,
        me: Me,
        action: FromQuery[Search] = None,
        outcome: FromQuery[Search] = None,
        actor_id: FromQuery[uuid.UUID | None] = None,
        target_id: FromQuery[Search] = None,
        since: FromQuery[Instant] = None,
        until: FromQuery[Instant] = None,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 50,
    ) -> AuditPage:
        return await audit_log.list_events(
            me,
            action=action,
            outcome=outcome,
            actor_id=actor_id,
            target_id=target_id,
            since=instant(since, "since"),
            until=instant(until, "until"),
            cursor=cursor,
            limit=limit,
        )

    @get(
        "/export",
        operation_id="export_audit_events",
        summary="The org's audit events as JSON Lines for a SIEM, oldest first, with their "
        "chain MACs",
        guards=[requires("audit.read")],
        responses=errors(401, 403, 422),
        media_type="application/x-ndjson",
    )
    async def export_events(self, me: Me, ctx: Ctx, since: FromQuery[Instant] = None) -> Stream:
        return Stream(
            await audit_log.export(me, ctx, instant(since, "since")),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )
