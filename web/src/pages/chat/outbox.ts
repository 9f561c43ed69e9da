// Messages typed but not yet acknowledged by the server. Each keeps the client_msg_id it
// was given when typed, so sending it again after a lost connection can never make a
// second message (the server answers the first one for a used id).
import { api, ApiError, unwrap } from "../../api/client";
import type { Message } from "./useChat";

export type Pending = {
  clientMsgId: string;
  conversationId: string;
  body: string;
  attachmentId: string | null;
  state: "sending" | "failed" | "refused";
};

type Listener = () => void;
const pending = new Map<string, Pending>();
const listeners = new Set<Listener>();
let sent: (message: Message) => void = () => undefined;

function changed(): void {
  for (const l of listeners) l();
}

export const outbox = {
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  snapshot(): Pending[] {
    return [...pending.values()];
  },
  onSent(callback: (message: Message) => void): void {
    sent = callback;
  },
  add(conversationId: string, body: string, attachmentId: string | null = null): void {
    const item: Pending = {
      clientMsgId: crypto.randomUUID(),
      conversationId,
      body,
      attachmentId,
      state: "sending",
    };
    pending.set(item.clientMsgId, item);
    changed();
    void deliver(item);
  },
  dismiss(clientMsgId: string): void {
    pending.delete(clientMsgId);
    changed();
  },
  /** Try every unsent message again (back online, socket live again, or by hand). */
  retryAll(): void {
    for (const item of pending.values()) {
      if (item.state === "failed") void deliver(item);
    }
  },
};

let snapshotCache: Pending[] = [];
export function pendingSnapshot(): Pending[] {
  const now = outbox.snapshot();
  const same = now.length === snapshotCache.length && now.every((p, i) => p === snapshotCache[i]);
  if (!same) snapshotCache = now;
  return snapshotCache;
}

async function deliver(item: Pending): Promise<void> {
  pending.set(item.clientMsgId, { ...item, state: "sending" });
  changed();
  try {
    const message = await unwrap(
      api.POST("/api/v1/conversations/{conversation_id}/messages", {
        params: { path: { conversation_id: item.conversationId } },
        body: { client_msg_id: item.clientMsgId, body: item.body, attachment_id: item.attachmentId },
      }),
    );
    pending.delete(item.clientMsgId);
    sent(message);
  } catch (error) {
    // A refusal (4xx) will not change by trying again; a lost connection will.
    const final = error instanceof ApiError && error.status < 500 && error.status !== 429;
    pending.set(item.clientMsgId, { ...item, state: final ? "refused" : "failed" });
  }
  changed();
}

window.addEventListener("online", () => outbox.retryAll());
