// Chat: the conversation list (most recent first, unread counts) beside the open
// conversation; new messages, edits and deletions arrive over the chat socket, and after a
// gap the open conversation catches up from its last known message.
import { useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { NavLink, Outlet, useParams } from "react-router";
import { useMe } from "../../auth";
import { ErrorNote } from "../../components/forms";
import { useLive } from "../../realtime/useLive";
import { outbox } from "./outbox";
import { conversationTitle, merge, useConversations, type Message } from "./useChat";

export function Chat() {
  const { t } = useTranslation();
  const me = useMe();
  const { conversationId } = useParams();
  const queryClient = useQueryClient();
  const conversations = useConversations();

  function apply(message: Message) {
    queryClient.setQueryData<Message[]>(["messages", message.conversation_id], (old) =>
      old ? merge(old, [message]) : old,
    );
  }
  outbox.onSent((message) => {
    apply(message);
    void queryClient.invalidateQueries({ queryKey: ["conversations"] });
  });
  const live = useLive(
    "/api/v1/chat/ws",
    (event) => {
      const message = event.message as Message | undefined;
      if (message && typeof message.seq === "number") apply(message);
      void queryClient.invalidateQueries({ queryKey: ["conversations"] });
    },
    () => {
      // Back after a gap: catch up and send what waited.
      void queryClient.invalidateQueries({ queryKey: ["conversations"] });
      void queryClient.invalidateQueries({ queryKey: ["messages"] });
      outbox.retryAll();
    },
  );

  return (
    <div className={`chat-layout${conversationId ? " open" : ""}`}>
      <nav className="conversations" aria-label={t("chat.conversations")}>
        <div className="row">
          <h1>{t("chat.title")}</h1>
          <span className={`live ${live}`} role="status">
            {t(`live.${live}`)}
          </span>
        </div>
        <NavLink className="button" to="/chat/new">
          {t("chat.new")}
        </NavLink>
        <ErrorNote error={conversations.error} />
        <ul>
          {conversations.data?.items.map((c) => (
            <li key={c.id}>
              <NavLink to={`/chat/${c.id}`}>
                <span className="title">{conversationTitle(c, me.data?.id, t("chat.untitled"))}</span>
                {c.kind !== "direct" && <span className="muted"> · {t(`chat.kind_${c.kind}`)}</span>}
                {c.unread > 0 && (
                  <span className="badge" aria-label={t("chat.unread_messages", { count: c.unread })}>
                    {c.unread}
                  </span>
                )}
              </NavLink>
            </li>
          ))}
        </ul>
        {conversations.isSuccess && conversations.data.items.length === 0 && (
          <p className="muted">{t("chat.none")}</p>
        )}
      </nav>
      <div className="conversation-pane">
        <Outlet />
      </div>
    </div>
  );
}

export function ChatHome() {
  const { t } = useTranslation();
  return <p className="muted pane-hint">{t("chat.pick")}</p>;
}
