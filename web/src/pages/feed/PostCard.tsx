// One post: the server's sanitised HTML (never re-rendered from Markdown here), its
// attachments, reactions, acknowledgement and comments.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { ErrorNote } from "../../components/forms";
import { Attachment } from "../../components/Media";

type Post = Schemas["PostOut"];
const EMOJIS = ["👍", "❤️", "🎉", "😂", "😮", "😢", "🙏", "👏"] as const;

export function when(iso: string, language: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

function useMarkRead(post: Post) {
  const ref = useRef<HTMLElement>(null);
  const queryClient = useQueryClient();
  useEffect(() => {
    const el = ref.current;
    if (!el || post.read) return;
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        seen.disconnect();
        void unwrap(api.POST("/api/v1/posts/{post_id}/read", { params: { path: { post_id: post.id } } })).then(
          () => queryClient.invalidateQueries({ queryKey: ["channels"] }),
        );
      }
    });
    seen.observe(el);
    return () => seen.disconnect();
  }, [post.id, post.read, queryClient]);
  return ref;
}

export function PostCard({ post, full = false }: { post: Post; full?: boolean }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const ref = useMarkRead(post);
  const [showComments, setShowComments] = useState(full);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["feed"] }).then(() =>
    queryClient.invalidateQueries({ queryKey: ["post", post.id] }),
  );
  const ack = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/posts/{post_id}/acknowledge", { params: { path: { post_id: post.id } } })),
    onSuccess: refresh,
  });
  const react = useMutation({
    mutationFn: (emoji: (typeof EMOJIS)[number]) => {
      const path = { post_id: post.id };
      return post.my_reactions.includes(emoji)
        ? unwrap(api.DELETE("/api/v1/posts/{post_id}/reactions", { params: { path, query: { emoji } } }))
        : unwrap(api.POST("/api/v1/posts/{post_id}/reactions", { params: { path }, body: { emoji } }));
    },
    onSuccess: refresh,
  });
  const titleId = `post-${post.id}`;
  return (
    <article ref={ref} className={`post${post.pinned ? " pinned" : ""}`} aria-labelledby={titleId}>
      <header>
        {post.pinned && <span className="tag">{t("feed.pinned")}</span>}
        {post.requires_ack && !post.acknowledged && <span className="tag warn">{t("feed.to_ack")}</span>}
        <h2 id={titleId}>
          <Link to={`/posts/${post.id}`}>{post.title}</Link>
        </h2>
        <p className="muted">
          {post.author_name ?? t("feed.deleted_user")} · {when(post.publish_at, i18n.language)}
          {post.edited_at && ` · ${t("feed.edited")}`}
        </p>
      </header>
      <div className="post-body" dangerouslySetInnerHTML={{ __html: post.body_html }} />
      {post.attachment_ids.map((id) => (
        <Attachment key={id} id={id} />
      ))}
      {post.requires_ack && (
        <div className="ack">
          {post.acknowledged ? (
            <p className="ok">✓ {t("feed.acknowledged")}</p>
          ) : (
            <>
              {post.ack_due_at && <p>{t("feed.ack_due", { when: when(post.ack_due_at, i18n.language) })}</p>}
              <button type="button" className="primary" disabled={ack.isPending} onClick={() => ack.mutate()}>
                {t("feed.acknowledge")}
              </button>
              <ErrorNote error={ack.error} />
            </>
          )}
        </div>
      )}
      <div className="reactions" role="group" aria-label={t("feed.reactions")}>
        {EMOJIS.map((emoji) => {
          const count = post.reactions[emoji] ?? 0;
          const mine = post.my_reactions.includes(emoji);
          if (!full && count === 0 && emoji !== "👍") return null;
          return (
            <button
              key={emoji}
              type="button"
              className={mine ? "reaction mine" : "reaction"}
              aria-pressed={mine}
              aria-label={t("feed.react", { emoji, count })}
              onClick={() => react.mutate(emoji)}
            >
              {emoji} {count > 0 && count}
            </button>
          );
        })}
        <button type="button" className="link" aria-expanded={showComments} onClick={() => setShowComments(!showComments)}>
          {t("feed.comments", { count: post.comment_count })}
        </button>
      </div>
      {showComments && <Comments postId={post.id} />}
    </article>
  );
}

function Comments({ postId }: { postId: string }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const [body, setBody] = useState("");
  const [replyTo, setReplyTo] = useState<Schemas["CommentOut"] | null>(null);
  const comments = useQuery({
    queryKey: ["comments", postId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/posts/{post_id}/comments", { params: { path: { post_id: postId }, query: { limit: 100 } } })),
  });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/posts/{post_id}/comments", {
          params: { path: { post_id: postId } },
          body: { body, parent_id: replyTo?.id ?? null },
        }),
      ),
    onSuccess: async () => {
      setBody("");
      setReplyTo(null);
      await queryClient.invalidateQueries({ queryKey: ["comments", postId] });
      await queryClient.invalidateQueries({ queryKey: ["feed"] });
    },
  });
  const items = comments.data?.items ?? [];
  const top = items.filter((c) => !c.parent_id);
  return (
    <section className="comments" aria-label={t("feed.comments_title")}>
      {top.map((c) => (
        <div key={c.id} className="comment">
          <Comment c={c} language={i18n.language} onReply={() => setReplyTo(c)} />
          {items
            .filter((r) => r.parent_id === c.id)
            .map((r) => (
              <div key={r.id} className="comment reply">
                <Comment c={r} language={i18n.language} />
              </div>
            ))}
        </div>
      ))}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (body.trim()) add.mutate();
        }}
      >
        <label htmlFor={`comment-${postId}`} className="sr-only">
          {replyTo ? t("feed.reply_to", { name: replyTo.author_name }) : t("feed.write_comment")}
        </label>
        <input
          id={`comment-${postId}`}
          value={body}
          onChange={(e) => setBody(e.target.value)}
          placeholder={replyTo ? t("feed.reply_to", { name: replyTo.author_name }) : t("feed.write_comment")}
        />
        <button type="submit" disabled={add.isPending}>
          {t("feed.send")}
        </button>
      </form>
      <ErrorNote error={add.error} />
    </section>
  );
}

function Comment({ c, language, onReply }: { c: Schemas["CommentOut"]; language: string; onReply?: () => void }) {
  const { t } = useTranslation();
  return (
    <>
      <p className="muted">
        <strong>{c.author_name ?? t("feed.deleted_user")}</strong> · {when(c.created_at, language)}
      </p>
      <p>{c.deleted ? <em>{t("feed.comment_deleted")}</em> : c.body}</p>
      {onReply && (
        <button type="button" className="link" onClick={onReply}>
          {t("feed.reply")}
        </button>
      )}
    </>
  );
}
