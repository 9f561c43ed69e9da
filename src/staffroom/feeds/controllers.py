"""HTTP routes of feeds (HTTP only: every rule is in the service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, RawBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.core.blobs import attachment
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors
from staffroom.feeds.schemas import (
    ChannelIn,
    ChannelList,
    ChannelOut,
    ChannelPatch,
    CommentIn,
    CommentOut,
    CommentPage,
    CommentPatch,
    Emoji,
    FeedPage,
    GroupChannelList,
    MediaOut,
    PostIn,
    PostOut,
    PostPatch,
    ReactionIn,
    StatsOut,
    UploadIn,
    UploadOut,
)
from staffroom.feeds.service import channels, interactions, media, posts, timeline

Me = NamedDependency[Principal]
Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]
# Uploads up to the largest media_max_bytes one would configure; the service enforces
# the configured limit exactly.
MEDIA_MAX_BODY = 100 * 1024 * 1024
Cursor = Annotated[str | None, Parameter(max_length=300)]
Limit = Annotated[int, Parameter(ge=1, le=100)]


class ChannelsController(Controller):
    path = "/api/v1/channels"
    tags = ["feeds"]
    security = [{"bearer": []}]
    guards = [requires("feeds.read")]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_channel",
        summary="Create a channel with its audience and posting policy",
        guards=[requires("feeds.manage")],
        responses=errors(401, 403, 422),
    )
    async def create(self, data: JSONBody[ChannelIn], me: Me, rt: Rt, ctx: Ctx) -> ChannelOut:
        return await channels.create(rt, me, data, ctx)

    @get(
        "",
        operation_id="list_channels",
        summary="The channels the caller sees, with unread counts",
        responses=errors(401, 403),
    )
    async def list_channels(self, me: Me) -> ChannelList:
        return await channels.list_channels(me)

    @get(
        "/{channel_id:uuid}",
        operation_id="get_channel",
        summary="One channel",
        responses=errors(401, 403, 404),
    )
    async def get_channel(self, channel_id: FromPath[uuid.UUID], me: Me) -> ChannelOut:
        return await channels.get(me, channel_id)

    @patch(
        "/{channel_id:uuid}",
        operation_id="update_channel",
        summary="Change a channel (its audience applies to all its posts at once)",
        guards=[requires("feeds.manage")],
        responses=errors(401, 403, 404, 422),
    )
    async def update(
        self,
        channel_id: FromPath[uuid.UUID],
        data: JSONBody[ChannelPatch],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> ChannelOut:
        return await channels.patch(rt, me, channel_id, data, ctx)

    @delete(
        "/{channel_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="archive_channel",
        summary="Archive a channel",
        guards=[requires("feeds.manage")],
        responses=errors(401, 403, 404),
    )
    async def archive(self, channel_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> None:
        await channels.archive(rt, me, channel_id, ctx)

    @post(
        "/{channel_id:uuid}/posts",
        status_code=HTTP_201_CREATED,
        operation_id="create_post",
        summary="Post to a channel (Markdown; optional schedule, expiry, pin, acknowledgement)",
        responses=errors(401, 403, 404, 422),
    )
    async def create_post(
        self, channel_id: FromPath[uuid.UUID], data: JSONBody[PostIn], me: Me, rt: Rt, ctx: Ctx
    ) -> PostOut:
        return await posts.create(rt, me, channel_id, data, ctx)

    @get(
        "/{channel_id:uuid}/posts",
        operation_id="list_channel_posts",
        summary="A channel's posts, pinned first, newest first (moderators: scheduled too)",
        responses=errors(401, 403, 404, 422),
    )
    async def channel_posts(
        self,
        channel_id: FromPath[uuid.UUID],
        me: Me,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 20,
        include_scheduled: FromQuery[bool] = False,
    ) -> FeedPage:
        return await posts.channel_posts(me, channel_id, cursor, limit, include_scheduled)


class FeedController(Controller):
    path = "/api/v1"
    tags = ["feeds"]
    security = [{"bearer": []}]
    guards = [requires("feeds.read")]

    @get(
        "/feed",
        operation_id="get_feed",
        summary="The caller's timeline across their channels",
        responses=errors(401, 403, 422),
    )
    async def feed(
        self, me: Me, cursor: FromQuery[Cursor] = None, limit: FromQuery[Limit] = 20
    ) -> FeedPage:
        return await timeline.feed(me, cursor, limit)

    @get(
        "/groups/{group_id:uuid}/channels",
        operation_id="list_group_channels",
        summary="The channels a group is an audience of or may post to",
        tags=["groups"],
        guards=[requires("groups.manage")],
        responses=errors(401, 403, 404),
    )
    async def group_channels(self, group_id: FromPath[uuid.UUID], me: Me) -> GroupChannelList:
        return await channels.of_group(me, group_id)

    @get(
        "/posts/{post_id:uuid}",
        operation_id="get_post",
        summary="One post",
        responses=errors(401, 403, 404),
    )
    async def get_post(self, post_id: FromPath[uuid.UUID], me: Me) -> PostOut:
        return await posts.get(me, post_id)

    @patch(
        "/posts/{post_id:uuid}",
        operation_id="update_post",
        summary="Edit a post (author or moderator)",
        responses=errors(401, 403, 404, 422),
    )
    async def update_post(
        self, post_id: FromPath[uuid.UUID], data: JSONBody[PostPatch], me: Me, rt: Rt, ctx: Ctx
    ) -> PostOut:
        return await posts.patch(rt, me, post_id, data, ctx)

    @delete(
        "/posts/{post_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_post",
        summary="Delete a post (author or moderator; hidden everywhere)",
        responses=errors(401, 403, 404),
    )
    async def delete_post(self, post_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> None:
        await posts.delete(rt, me, post_id, ctx)

    @post(
        "/posts/{post_id:uuid}/read",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="mark_post_read",
        summary="Record that the caller read a post (idempotent)",
        responses=errors(401, 403, 404),
    )
    async def read(self, post_id: FromPath[uuid.UUID], me: Me) -> None:
        await posts.mark_read(me, post_id)

    @post(
        "/posts/{post_id:uuid}/acknowledge",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="acknowledge_post",
        summary="Acknowledge a mandatory post (idempotent)",
        responses=errors(401, 403, 404, 409),
    )
    async def acknowledge(self, post_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await posts.acknowledge(me, post_id, ctx)

    @get(
        "/posts/{post_id:uuid}/stats",
        operation_id="post_stats",
        summary="Audience, reads, acknowledgements and who has not acknowledged (editors)",
        responses=errors(401, 403, 404),
    )
    async def stats(self, post_id: FromPath[uuid.UUID], me: Me) -> StatsOut:
        return await interactions.stats(me, post_id)

    @get(
        "/posts/{post_id:uuid}/stats.csv",
        operation_id="post_stats_csv",
        summary="The post's reach per person as CSV (formula cells escaped); "
        "not_acknowledged=true: only who has not acknowledged",
        media_type="text/csv",
        responses=errors(401, 403, 404),
    )
    async def stats_csv(
        self, post_id: FromPath[uuid.UUID], me: Me, not_acknowledged: FromQuery[bool] = False
    ) -> Response[bytes]:
        body = await interactions.stats_csv(me, post_id, not_acknowledged)
        headers = {"Content-Disposition": f'attachment; filename="post-{post_id}-reach.csv"'}
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

    @post(
        "/posts/{post_id:uuid}/comments",
        status_code=HTTP_201_CREATED,
        operation_id="add_comment",
        summary="Comment on a post, or reply to a comment",
        guards=[requires("feeds.comment")],
        responses=errors(401, 403, 404, 422),
    )
    async def add_comment(
        self, post_id: FromPath[uuid.UUID], data: JSONBody[CommentIn], me: Me, ctx: Ctx
    ) -> CommentOut:
        return await interactions.add_comment(me, post_id, data, ctx)

    @get(
        "/posts/{post_id:uuid}/comments",
        operation_id="list_comments",
        summary="A post's comments, newest first",
        responses=errors(401, 403, 404, 422),
    )
    async def comments(
        self,
        post_id: FromPath[uuid.UUID],
        me: Me,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 50,
    ) -> CommentPage:
        return await interactions.list_comments(me, post_id, cursor, limit)

    @patch(
        "/comments/{comment_id:uuid}",
        operation_id="edit_comment",
        summary="Edit one's own comment",
        responses=errors(401, 403, 404, 422),
    )
    async def edit_comment(
        self, comment_id: FromPath[uuid.UUID], data: JSONBody[CommentPatch], me: Me
    ) -> CommentOut:
        return await interactions.edit_comment(me, comment_id, data.body)

    @delete(
        "/comments/{comment_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_comment",
        summary="Delete one's own comment (moderators: any)",
        responses=errors(401, 403, 404),
    )
    async def delete_comment(self, comment_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await interactions.delete_comment(me, comment_id, ctx)

    @post(
        "/posts/{post_id:uuid}/reactions",
        status_code=HTTP_200_OK,
        operation_id="add_reaction",
        summary="React with one of the fixed emoji (one of each per person)",
        guards=[requires("feeds.comment")],
        responses=errors(401, 403, 404),
    )
    async def react(
        self, post_id: FromPath[uuid.UUID], data: JSONBody[ReactionIn], me: Me
    ) -> PostOut:
        return await interactions.react(me, post_id, data.emoji)

    @delete(
        "/posts/{post_id:uuid}/reactions",
        status_code=HTTP_200_OK,
        operation_id="remove_reaction",
        summary="Take one's reaction back",
        responses=errors(401, 403, 404),
    )
    async def unreact(
        self, post_id: FromPath[uuid.UUID], me: Me, emoji: FromQuery[Emoji]
    ) -> PostOut:
        return await interactions.unreact(me, post_id, emoji)


class MediaController(Controller):
    path = "/api/v1/media"
    tags = ["media"]
    security = [{"bearer": []}]
    guards = [requires("feeds.read")]

    @post(
        "/uploads",
        status_code=HTTP_201_CREATED,
        operation_id="start_media_upload",
        summary="Where and how to upload an image or PDF (presigned S3 POST, or a PUT here)",
        responses=errors(401, 403, 422, 503),
    )
    async def start_upload(self, data: JSONBody[UploadIn], me: Me, rt: Rt) -> UploadOut:
        return await media.start_upload(rt, me, data)

    @put(
        "/{media_id:uuid}/content",
        operation_id="upload_media_content",
        summary="Upload the bytes (embedded storage only; S3 uploads go to S3 directly)",
        request_max_body_size=MEDIA_MAX_BODY,
        responses=errors(401, 403, 404, 409, 413, 422),
    )
    async def put_content(
        self, media_id: FromPath[uuid.UUID], body: RawBody, me: Me, rt: Rt
    ) -> MediaOut:
        return await media.put_local(rt, me, media_id, bytes(body))

    @post(
        "/{media_id:uuid}/complete",
        status_code=HTTP_200_OK,
        operation_id="complete_media_upload",
        summary="After a direct upload: verify the stored file so it can be attached",
        responses=errors(401, 403, 404, 409, 422, 503),
    )
    async def complete(self, media_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> MediaOut:
        return await media.complete(rt, me, media_id)

    @get(
        "/{media_id:uuid}",
        operation_id="get_media",
        summary="A file with a short-lived download URL",
        responses=errors(401, 403, 404, 503),
    )
    async def get_media(self, media_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> MediaOut:
        return await media.get(rt, me, media_id)

    @get(
        "/{media_id:uuid}/content",
        operation_id="download_media",
        summary="Download a file (embedded storage; S3 files come from their presigned URL)",
        media_type="application/octet-stream",
        responses=errors(401, 403, 404, 503),
    )
    async def content(self, media_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> File:
        path, content_type, filename = await media.read_local(rt, me, media_id)
        return File(
            path=path,
            media_type=content_type,
            headers={
                "content-disposition": attachment(filename),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=300",
            },
        )
