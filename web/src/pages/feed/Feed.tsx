// The news feed: channels with unread counts, the timeline (pinned first, more on
// scroll), what still needs an acknowledgement, and new posts arriving live.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, useParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { Loading } from "../../auth";
import { Badge, Missing } from "../../components/bits";
import { ErrorNote } from "../../components/forms";
import { useLive } from "../../realtime/useLive";
import { PostCard } from "./PostCard";

const PAGE = 20;

export function Feed() {
  const { t } = useTranslation();
  const { channelId } = useParams();
  const queryClient = useQueryClient();
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => unwrap(api.GET("/api/v1/channels")),
  });
  const feed = useInfiniteQuery({
    queryKey: ["feed", channelId ?? "all"],
    initialPageParam: null as string | null,
    getNextPageParam: (last: { next_cursor?: string | null }) => last.next_cursor ?? null,
    queryFn: ({ pageParam }) =>
      channelId
        ? unwrap(
            api.GET("/api/v1/channels/{channel_id}/posts", {
              params: { path: { channel_id: channelId }, query: { limit: PAGE, cursor: pageParam ?? undefined } },
            }),
          )
        : unwrap(api.GET("/api/v1/feed", { params: { query: { limit: PAGE, cursor: pageParam ?? undefined } } })),
  });
  const refreshAll = () => {
    void queryClient.invalidateQueries({ queryKey: ["feed"] });
    void queryClient.invalidateQueries({ queryKey: ["channels"] });
  };
  const live = useLive("/api/v1/realtime/ws", (event) => {
    if (event.type.startsWith("post.")) {
      refreshAll();
      if (typeof event.post_id === "string") {
        void queryClient.invalidateQueries({ queryKey: ["post", event.post_id] });
      }
    }
  }, refreshAll);

  const more = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = feed;
  useEffect(() => {
    const el = more.current;
    if (!el) return;
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && hasNextPage && !isFetchingNextPage) void fetchNextPage();
    });
    seen.observe(el);
    return () => seen.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const posts = feed.data?.pages.flatMap((p) => p.items) ?? [];
  const toAck = posts.filter((p) => p.requires_ack && !p.acknowledged);
  const current = channels.data?.items.find((c) => c.id === channelId);
  return (
    <div className="feed-layout">
      <nav className="channels" aria-label={t("feed.channels")}>
        <h2 className="sr-only">{t("feed.channels")}</h2>
        <ul>
          <li>
            <NavLink to="/feed" end>
              {t("feed.all")}
            </NavLink>
          </li>
          {channels.data?.items.map((c) => (
            <li key={c.id}>
              <NavLink to={`/channels/${c.id}`}>
                {c.name}
                <Badge count={c.unread} label={c.unread > 999 ? t("feed.unread_many") : t("feed.unread", { count: c.unread })} />
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <section className="timeline" aria-labelledby="feed-title">
        <h1 id="feed-title">
          {current?.name ?? t("feed.title")}
          <span className={`live ${live}`} role="status">
            {t(`live.${live}`)}
          </span>
        </h1>
        {toAck.length > 0 && (
          <aside className="to-ack" aria-labelledby="to-ack-title">
            <h2 id="to-ack-title">{t("feed.to_ack_title", { count: toAck.length })}</h2>
            <ul>
              {toAck.map((p) => (
                <li key={p.id}>
                  <Link to={`/posts/${p.id}`}>{p.title}</Link>
                </li>
              ))}
            </ul>
          </aside>
        )}
        {feed.isPending && <Loading />}
        <ErrorNote error={feed.error} />
        {feed.isSuccess && posts.length === 0 && <p className="muted">{t("feed.empty")}</p>}
        {posts.map((post) => (
          <PostCard key={post.id} post={post} />
        ))}
        <div ref={more} className="more">
          {isFetchingNextPage && <Loading />}
        </div>
      </section>
    </div>
  );
}

export function PostPage() {
  const { t } = useTranslation();
  const { postId = "" } = useParams();
  const post = useQuery({
    queryKey: ["post", postId],
    queryFn: () => unwrap(api.GET("/api/v1/posts/{post_id}", { params: { path: { post_id: postId } } })),
    retry: false,
  });
  if (post.isPending) return <Loading />;
  if (post.error) return <Missing error={post.error} back="/feed" backLabel={t("nav.feed")} />;
  return (
    <section>
      <Link to="/feed">← {t("nav.feed")}</Link>
      <PostCard post={post.data} full />
    </section>
  );
}
