// The chat socket, open on every page while someone is signed in: new messages, edits and
// deletions go straight into the open conversation, the unread badges follow at once, and
// after a gap everything catches up and waiting messages are sent.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, type ReactNode } from "react";
import { useLive } from "../../realtime/useLive";
import type { LiveState } from "../../realtime/socket";
import { outbox } from "./outbox";
import { merge, type Message } from "./useChat";

const ChatLiveState = createContext<LiveState>("connecting");

export function useChatLiveState(): LiveState {
  return useContext(ChatLiveState);
}

export function ChatLive({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  useEffect(() => {
    const apply = (message: Message) =>
      queryClient.setQueryData<Message[]>(["messages", message.conversation_id], (old) =>
        old ? merge(old, [message]) : old,
      );
    outbox.onSent((message) => {
      apply(message);
      void queryClient.invalidateQueries({ queryKey: ["conversations"] });
    });
  }, [queryClient]);
  const state = useLive(
    "/api/v1/chat/ws",
    (event) => {
      const message = event.message as Message | undefined;
      if (message && typeof message.seq === "number") {
        queryClient.setQueryData<Message[]>(["messages", message.conversation_id], (old) =>
          old ? merge(old, [message]) : old,
        );
      }
      void queryClient.invalidateQueries({ queryKey: ["conversations"] });
    },
    () => {
      void queryClient.invalidateQueries({ queryKey: ["conversations"] });
      void queryClient.invalidateQueries({ queryKey: ["messages"] });
      outbox.retryAll();
    },
  );
  return <ChatLiveState.Provider value={state}>{children}</ChatLiveState.Provider>;
}
