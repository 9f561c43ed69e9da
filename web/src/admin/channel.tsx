// One channel for its moderators: its posts, scheduled ones first, each with what it
// asks of readers, pin and unpin, its reach, and deletion; links to write a post and
// to change the channel.
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { useChannel, usePolicyWords } from "./channels";
import { NS } from "./i18n";
import { AdminError, Confirm, DataTable, useAction, when } from "./lib";

type Post = Schemas["PostOut"];

export function isScheduled(post: Post): boolean {
  return new Date(post.publish_at).getTime() > Date.now();
}

/** What a post is now: scheduled or published, pinned, asking for acknowledgement. */
export function PostTags({ post }: { post: Post }) {
  const { t, i18n } = useTranslation(NS);
  return (
    <>
      {isScheduled(post) ? (
        <span className="tag warn">{t("posts.scheduled_for", { when: when(post.publish_at, i18n.language) })}</span>
      ) : (
        <span className="tag ok-tag">{t("posts.published_at", { when: when(post.publish_at, i18n.language) })}</span>
      )}
      {post.pinned && <span className="tag">{t("posts.pinned")}</span>}
      {post.requires_ack && (
        <span className="tag">
          {post.ack_due_at
            ? t("posts.ack_due", { when: when(post.ack_due_at, i18n.language) })
            : t("posts.ack_required")}
        </span>
      )}
    </>
  );
}

/** Pin or unpin, and delete after saying what that does. */
export function PostActions({ post, onDeleted }: { post: Post; onDeleted?: () => void }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const path = { params: { path: { post_id: post.id } } };
  async function refresh() {
    await queryClient.invalidateQueries({ queryKey: ["admin", "posts"] });
    await queryClient.invalidateQueries({ queryKey: ["admin", "post", post.id] });
    await queryClient.invalidateQueries({ queryKey: ["feed"] });
  }
  async function pin() {
    await unwrap(api.PATCH("/api/v1/posts/{post_id}", { ...path, body: { pinned: !post.pinned } }));
    await refresh();
  }
  async function remove() {
    await unwrap(api.DELETE("/api/v1/posts/{post_id}", path));
    onDeleted?.();
    queryClient.removeQueries({ queryKey: ["admin", "post", post.id] });
    await refresh();
  }
  return (
    <div className="post-actions">
      <div className="row">
        <button
          type="button"
          disabled={action.busy}
          onClick={() => void action.run(pin)}
          aria-label={t(post.pinned ? "posts.unpin_post" : "posts.pin_post", { title: post.title })}
        >
          {t(post.pinned ? "posts.unpin" : "posts.pin")}
        </button>
        {!confirming && (
          <button type="button" onClick={() => setConfirming(true)} aria-label={t("posts.delete_post", { title: post.title })}>
            {t("posts.delete")}
          </button>
        )}
      </div>
      {confirming && (
        <Confirm
          label={t("posts.confirm_label")}
          action={t("posts.delete_now")}
          busy={action.busy}
          onConfirm={() => void action.run(remove)}
          onCancel={() => setConfirming(false)}
        >
          <p>{t("posts.delete_what", { title: post.title })}</p>
        </Confirm>
      )}
      <AdminError error={action.error} />
    </div>
  );
}

export function ChannelPage() {
  const { t } = useTranslation(NS);
  const { channelId = "" } = useParams();
  const state = useLocation().state as { created?: boolean; posted?: string; scheduled?: boolean; deleted?: string } | null;
  const channel = useChannel(channelId);
  const words = usePolicyWords();
  const posts = useInfiniteQuery({
    queryKey: ["admin", "posts", channelId],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/channels/{channel_id}/posts", {
          params: { path: { channel_id: channelId }, query: { include_scheduled: true, cursor: pageParam, limit: 20 } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  if (channel.error) return <AdminError error={channel.error} />;
  if (!channel.data) return <Loading />;
  const c = channel.data;
  const w = words(c);
  const rows = posts.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <p>
        <Link to="/admin/feeds">{t("channels.back")}</Link>
      </p>
      <div className="admin-title">
        <h1>{c.name}</h1>
        <div className="row">
          <Link className="button primary" to={`/admin/feeds/${c.id}/new-post`}>
            {t("posts.new")}
          </Link>
          <Link className="button" to={`/admin/feeds/${c.id}/settings`}>
            {t("channels.settings")}
          </Link>
        </div>
      </div>
      {state?.created && <p role="status">{t("channels.created")}</p>}
      {state?.posted && (
        <p role="status">{t(state.scheduled ? "posts.scheduled_done" : "posts.published_done", { title: state.posted })}</p>
      )}
      {state?.deleted && <p role="status">{t("posts.deleted", { title: state.deleted })}</p>}
      {c.description && <p>{c.description}</p>}
      <dl className="facts">
        <dt>{t("channels.audience")}</dt>
        <dd>{w.audience}</dd>
        <dt>{t("channels.posting")}</dt>
        <dd>{w.posting}</dd>
      </dl>
      <h2 className="posts-title">{t("posts.title")}</h2>
      <AdminError error={posts.error} />
      {posts.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("posts.none")}</p>
      ) : (
        <DataTable
          caption={t("posts.title")}
          rows={rows}
          rowKey={(p) => p.id}
          columns={[
            { header: t("posts.post"), cell: (p) => <Link to={`/admin/feeds/posts/${p.id}`}>{p.title}</Link> },
            { header: t("posts.state"), cell: (p) => <PostTags post={p} /> },
            { header: t("posts.author"), cell: (p) => p.author_name ?? "–" },
            { header: t("invites.actions"), cell: (p) => <PostActions post={p} /> },
          ]}
        />
      )}
      {posts.hasNextPage && (
        <button type="button" onClick={() => void posts.fetchNextPage()} disabled={posts.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </>
  );
}
