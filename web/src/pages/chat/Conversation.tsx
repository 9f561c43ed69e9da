// One conversation: its history (more on request), sending with retries, editing and
// deleting one's own messages, attachments and the read position.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { hasPermission, Loading, useMe } from "../../auth";
import { Missing } from "../../components/bits";
import { ErrorNote } from "../../components/forms";
import { Attachment, uploadFile } from "../../components/Media";
import { when } from "../feed/PostCard";
import { outbox, pendingSnapshot } from "./outbox";
import { conversationTitle, merge, useConversations, type Message } from "./useChat";

export function Conversation() {
  const { t, i18n } = useTranslation();
  const { conversationId = "" } = useParams();
  const me = useMe();
  const queryClient = useQueryClient();
  const conversations = useConversations();
  const conversation = conversations.data?.items.find((c) => c.id === conversationId);
  const [body, setBody] = useState("");
  const [older, setOlder] = useState<number | null>(null);
  const bottom = useRef<HTMLDivElement>(null);

  const messages = useQuery({
    queryKey: ["messages", conversationId],
    queryFn: async () => {
      // Catch-up: after the newest message held, else the latest page.
      const held = queryClient.getQueryData<Message[]>(["messages", conversationId]);
      const last = held?.at(-1)?.seq;
      const page = await unwrap(
        api.GET("/api/v1/conversations/{conversation_id}/messages", {
          params: {
            path: { conversation_id: conversationId },
            query: last !== undefined ? { after: last, limit: 200 } : { limit: 50 },
          },
        }),
      );
      if (last === undefined) setOlder(page.next_before ?? null);
      return merge(held ?? [], page.items);
    },
    retry: false,
  });
  const pending = useSyncExternalStore(outbox.subscribe, pendingSnapshot).filter(
    (p) => p.conversationId === conversationId,
  );
  const list = messages.data ?? [];
  const lastSeq = list.at(-1)?.seq ?? 0;

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
    if (!conversation || lastSeq <= conversation.read_seq || document.hidden) return;
    void unwrap(
      api.POST("/api/v1/conversations/{conversation_id}/read", {
        params: { path: { conversation_id: conversationId } },
        body: { seq: lastSeq },
      }),
    ).then(() => queryClient.invalidateQueries({ queryKey: ["conversations"] }));
  }, [lastSeq, conversation, conversationId, queryClient, pending.length]);

  const loadOlder = useMutation({
    mutationFn: async () => {
      const page = await unwrap(
        api.GET("/api/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: conversationId }, query: { before: older ?? undefined, limit: 50 } },
        }),
      );
      setOlder(page.next_before ?? null);
      queryClient.setQueryData<Message[]>(["messages", conversationId], (old) => merge(old ?? [], page.items));
    },
  });
  const attach = useMutation({
    mutationFn: async (file: File) => outbox.add(conversationId, "", await uploadFile(file)),
  });

  if (messages.isPending) return <Loading />;
  if (messages.error) {
    const heading = (title: string) => <h2>{title}</h2>;
    return <Missing error={messages.error} back="/chat" backLabel={t("nav.chat")} heading={heading} />;
  }
  const canWrite =
    conversation?.kind !== "announcement" || conversation.my_role === "admin" || hasPermission(me.data, "chat.moderate");
  const title = conversation ? conversationTitle(conversation, me.data?.id, t("chat.untitled")) : "";
  return (
    <section className="conversation" aria-labelledby="conversation-title">
      <header className="row">
        <Link className="back" to="/chat" aria-label={t("chat.back")}>
          ←
        </Link>
        <h2 id="conversation-title">{title}</h2>
        {conversation && conversation.kind !== "direct" && (
          <span className="muted">{t("chat.members", { count: conversation.member_count })}</span>
        )}
      </header>
      <ol className="messages" aria-label={t("chat.messages")} aria-live="polite">
        {older !== null && (
          <li>
            <button type="button" className="link" onClick={() => loadOlder.mutate()}>
              {t("chat.older")}
            </button>
          </li>
        )}
        {list.map((m) => (
          <MessageItem key={m.id} m={m} mine={m.sender_id === me.data?.id} language={i18n.language} />
        ))}
        {pending.map((p) => (
          <li key={p.clientMsgId} className="message mine pending" data-state={p.state}>
            <p>{p.body}</p>
            <p className="muted">
              {p.state === "sending" ? t("chat.sending") : p.state === "failed" ? t("chat.not_sent") : t("chat.refused")}
              {p.state !== "sending" && (
                <>
                  {" "}
                  {p.state === "failed" && (
                    <button type="button" className="link" onClick={() => outbox.retryAll()}>
                      {t("chat.retry")}
                    </button>
                  )}{" "}
                  <button type="button" className="link" onClick={() => outbox.dismiss(p.clientMsgId)}>
                    {t("chat.discard")}
                  </button>
                </>
              )}
            </p>
          </li>
        ))}
      </ol>
      <div ref={bottom} />
      {canWrite ? (
        <form
          className="composer"
          onSubmit={(e) => {
            e.preventDefault();
            const text = body.trim();
            if (!text) return;
            outbox.add(conversationId, text);
            setBody("");
          }}
        >
          <label htmlFor="composer" className="sr-only">
            {t("chat.write")}
          </label>
          <textarea
            id="composer"
            value={body}
            rows={1}
            placeholder={t("chat.write")}
            onChange={(e) => setBody(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
          />
          <label className="button attach">
            📎<span className="sr-only">{t("chat.attach")}</span>
            <input
              type="file"
              className="sr-only"
              accept="image/*,application/pdf"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file) attach.mutate(file);
                e.target.value = "";
              }}
            />
          </label>
          <button type="submit" className="primary">
            {t("chat.send")}
          </button>
        </form>
      ) : (
        <p className="muted">{t("chat.read_only")}</p>
      )}
      <ErrorNote error={attach.error ?? loadOlder.error} />
    </section>
  );
}

function MessageItem({ m, mine, language }: { m: Message; mine: boolean; language: string }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<string | null>(null);
  const update = (next: Message) =>
    queryClient.setQueryData<Message[]>(["messages", m.conversation_id], (old) => merge(old ?? [], [next]));
  const edit = useMutation({
    mutationFn: (body: string) =>
      unwrap(api.PATCH("/api/v1/messages/{message_id}", { params: { path: { message_id: m.id } }, body: { body } })),
    onSuccess: (next) => {
      setEditing(null);
      update(next);
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/messages/{message_id}", { params: { path: { message_id: m.id } } })),
    onSuccess: () => update({ ...m, deleted: true, body: null, attachment_id: null }),
  });
  return (
    <li className={`message${mine ? " mine" : ""}`} data-seq={m.seq}>
      <p className="muted">
        <strong>{m.sender_name ?? t("feed.deleted_user")}</strong> · {when(m.created_at, language)}
        {m.edited_at && !m.deleted && ` · ${t("feed.edited")}`}
      </p>
      {m.deleted ? (
        <p>
          <em>{t("chat.deleted")}</em>
        </p>
      ) : editing !== null ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (editing.trim()) edit.mutate(editing.trim());
          }}
        >
          <label htmlFor={`edit-${m.id}`} className="sr-only">
            {t("chat.edit")}
          </label>
          <input id={`edit-${m.id}`} value={editing} onChange={(e) => setEditing(e.target.value)} autoFocus />
          <button type="submit">{t("common.save")}</button>
          <button type="button" className="link" onClick={() => setEditing(null)}>
            {t("common.cancel")}
          </button>
        </form>
      ) : (
        <>
          {m.body && <p className="body">{m.body}</p>}
          {m.attachment_id && <Attachment id={m.attachment_id} />}
        </>
      )}
      {mine && !m.deleted && editing === null && (
        <p className="actions">
          <button type="button" className="link" onClick={() => setEditing(m.body ?? "")}>
            {t("chat.edit")}
          </button>{" "}
          <button
            type="button"
            className="link"
            onClick={() => {
              if (window.confirm(t("chat.delete_confirm"))) remove.mutate();
            }}
          >
            {t("chat.delete")}
          </button>
        </p>
      )}
      <ErrorNote error={edit.error ?? remove.error} />
    </li>
  );
}
