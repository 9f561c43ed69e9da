// Chat: the conversation list (most recent first, unread counts) beside the open
// conversation; what arrives over the chat socket comes through ChatLive.
import { useTranslation } from "react-i18next";
import { NavLink, Outlet, useParams } from "react-router";
import { useMe } from "../../auth";
import { Badge } from "../../components/bits";
import { ErrorNote } from "../../components/forms";
import { useChatLiveState } from "./ChatLive";
import { conversationTitle, useConversations } from "./useChat";

export function Chat() {
  const { t } = useTranslation();
  const me = useMe();
  const { conversationId } = useParams();
  const conversations = useConversations();
  const live = useChatLiveState();
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
                <Badge count={c.unread} label={t("chat.unread_messages", { count: c.unread })} />
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
