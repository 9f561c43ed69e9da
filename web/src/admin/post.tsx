// One post for its moderators: as readers see it, its reach (audience, reads,
// acknowledgements, who has not acknowledged, as CSV too), and its comments, any of
// which a moderator may delete.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Attachment } from "../components/Media";
import { isScheduled, PostActions, PostTags } from "./channel";
import { NS } from "./i18n";
import { AdminError, Confirm, saveBlob, useAction, when } from "./lib";

type Post = Schemas["PostOut"];
// Reads and acknowledgements arrive while the page is open.
const STATS_REFRESH_MS = 5_000;

export function PostPage() {
  const { t, i18n } = useTranslation(NS);
  const { postId = "" } = useParams();
  const navigate = useNavigate();
  const post = useQuery({
    queryKey: ["admin", "post", postId],
    queryFn: () => unwrap(api.GET("/api/v1/posts/{post_id}", { params: { path: { post_id: postId } } })),
  });
  if (post.error) return <AdminError error={post.error} />;
  if (!post.data) return <Loading />;
  const p = post.data;
  const back = `/admin/feeds/${p.channel_id}`;
  return (
    <>
      <p>
        <Link to={back}>{t("posts.back")}</Link>
      </p>
      <h1>{p.title}</h1>
      <p>
        <PostTags post={p} />
      </p>
      <p className="muted">
        {t("posts.by", { name: p.author_name ?? "–", when: when(p.created_at, i18n.language) })}
        {p.edited_at && ` · ${t("posts.edited", { when: when(p.edited_at, i18n.language) })}`}
      </p>
      <PostActions post={p} onDeleted={() => navigate(back, { state: { deleted: p.title } })} />
      <Reach post={p} />
      <section className="panel" aria-labelledby="post-text">
        <h2 id="post-text">{t("posts.as_readers_see")}</h2>
        <div className="post-body" dangerouslySetInnerHTML={{ __html: p.body_html }} />
        {p.attachment_ids.map((id) => (
          <Attachment key={id} id={id} />
        ))}
      </section>
      {!isScheduled(p) && <Comments post={p} />}
    </>
  );
}

function Reach({ post }: { post: Post }) {
  const { t } = useTranslation(NS);
  const path = { params: { path: { post_id: post.id } } };
  const stats = useQuery({
    queryKey: ["admin", "post", post.id, "stats"],
    queryFn: () => unwrap(api.GET("/api/v1/posts/{post_id}/stats", path)),
    refetchInterval: STATS_REFRESH_MS,
  });
  const download = useAction();
  async function csv(notAcknowledged: boolean) {
    const blob = (await unwrap(
      api.GET("/api/v1/posts/{post_id}/stats.csv", {
        params: { path: { post_id: post.id }, query: { not_acknowledged: notAcknowledged } },
        parseAs: "blob",
      }),
    )) as unknown as Blob;
    const slug = post.title.replace(/[^\p{L}\p{N}_-]+/gu, "-").slice(0, 60) || "post";
    saveBlob(blob, `${slug}-${notAcknowledged ? "not-acknowledged" : "reach"}.csv`);
  }
  const s = stats.data;
  return (
    <section className="panel" aria-labelledby="post-reach">
      <h2 id="post-reach">{t("posts.reach")}</h2>
      <AdminError error={stats.error ?? download.error} />
      {!s ? (
        stats.isPending && <Loading />
      ) : (
        <>
          <dl className="facts">
            <dt>{t("posts.audience")}</dt>
            <dd>{t("posts.people", { count: s.audience_size })}</dd>
            <dt>{t("posts.reads")}</dt>
            <dd>
              {t("posts.of", { part: s.reads, whole: s.audience_size, pct: s.read_pct })}
              <progress className="meter" max={100} value={s.read_pct} aria-label={t("posts.reads")} />
            </dd>
            {post.requires_ack && (
              <>
                <dt>{t("posts.acknowledgements")}</dt>
                <dd>
                  {t("posts.of", { part: s.acknowledgements, whole: s.audience_size, pct: s.ack_pct })}
                  <progress className="meter" max={100} value={s.ack_pct} aria-label={t("posts.acknowledgements")} />
                </dd>
              </>
            )}
          </dl>
          {post.requires_ack && (
            <>
              <h3>{t("posts.not_acknowledged", { count: s.not_acknowledged_count })}</h3>
              {s.not_acknowledged.length > 0 && (
                <ul className="people-list" aria-label={t("posts.not_acknowledged_list")}>
                  {s.not_acknowledged.map((p) => (
                    <li key={p.id}>
                      {p.display_name} <span className="muted">{p.login}</span>
                    </li>
                  ))}
                </ul>
              )}
              {s.not_acknowledged_count > s.not_acknowledged.length && (
                <p className="muted">{t("posts.more_in_csv", { count: s.not_acknowledged.length })}</p>
              )}
            </>
          )}
          <div className="row">
            {post.requires_ack && (
              <button type="button" className="primary" disabled={download.busy} onClick={() => void download.run(() => csv(true))}>
                {t("posts.csv_not_acknowledged")}
              </button>
            )}
            <button type="button" disabled={download.busy} onClick={() => void download.run(() => csv(false))}>
              {t("posts.csv_reach")}
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function Comments({ post }: { post: Post }) {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState<string | null>(null);
  const action = useAction();
  const comments = useQuery({
    queryKey: ["admin", "post", post.id, "comments"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/posts/{post_id}/comments", { params: { path: { post_id: post.id }, query: { limit: 100 } } })),
  });
  async function remove(id: string) {
    await unwrap(api.DELETE("/api/v1/comments/{comment_id}", { params: { path: { comment_id: id } } }));
    setConfirming(null);
    await queryClient.invalidateQueries({ queryKey: ["admin", "post", post.id] });
    await queryClient.invalidateQueries({ queryKey: ["comments", post.id] });
  }
  const all = comments.data?.items ?? [];
  // Each reply right under the comment it answers, as readers see them.
  const items = all
    .filter((c) => !c.parent_id)
    .flatMap((c) => [c, ...all.filter((r) => r.parent_id === c.id)]);
  return (
    <section className="panel" aria-labelledby="post-comments">
      <h2 id="post-comments">{t("posts.comments", { count: post.comment_count })}</h2>
      <AdminError error={comments.error ?? action.error} />
      {comments.isSuccess && all.length === 0 && <p>{t("posts.no_comments")}</p>}
      {items.map((c) => (
        <div key={c.id} className={c.parent_id ? "comment reply" : "comment"}>
          <p className="muted">
            <strong>{c.deleted ? t("posts.comment_deleted") : (c.author_name ?? "–")}</strong> ·{" "}
            {when(c.created_at, i18n.language)}
          </p>
          {!c.deleted && <p>{c.body}</p>}
          {!c.deleted &&
            (confirming === c.id ? (
              <Confirm
                label={t("posts.confirm_comment_label")}
                action={t("posts.delete_comment_now")}
                busy={action.busy}
                onConfirm={() => void action.run(() => remove(c.id))}
                onCancel={() => setConfirming(null)}
              >
                <p>{t("posts.delete_comment_what", { name: c.author_name ?? "–" })}</p>
              </Confirm>
            ) : (
              <button
                type="button"
                onClick={() => setConfirming(c.id)}
                aria-label={t("posts.delete_comment_of", { name: c.author_name ?? "–" })}
              >
                {t("posts.delete")}
              </button>
            ))}
        </div>
      ))}
    </section>
  );
}
