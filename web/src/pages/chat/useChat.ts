// Chat state shared by the list, the conversation and the navigation badge.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { useToken } from "../../auth";

export type Message = Schemas["MessageOut"];

export function useConversations() {
  const token = useToken();
  return useQuery({
    queryKey: ["conversations"],
    queryFn: () => unwrap(api.GET("/api/v1/conversations", { params: { query: { limit: 100 } } })),
    enabled: token !== null,
  });
}

export function useUnreadChats(): number {
  const conversations = useConversations();
  return (conversations.data?.items ?? []).reduce((sum, c) => sum + (c.unread > 0 ? 1 : 0), 0);
}

/** Messages in order of their place in the conversation, each once (the newest copy). */
export function merge(old: Message[], incoming: Message[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const m of old) bySeq.set(m.seq, m);
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function conversationTitle(c: Schemas["ConversationOut"], myId: string | undefined, fallback: string): string {
  if (c.title) return c.title;
  const others = c.members.filter((m) => m.user_id !== myId).map((m) => m.display_name);
  return others.join(", ") || fallback;
}
