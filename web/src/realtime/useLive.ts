import { useEffect, useRef, useState } from "react";
import { useToken } from "../auth";
import { LiveSocket, type LiveEvent, type LiveState } from "./socket";

/** A live socket for as long as the component is shown and someone is signed in;
 * `onResume` runs when it comes back after a gap (to catch up on what was missed). */
export function useLive(
  path: string,
  onEvent: (event: LiveEvent) => void,
  onResume?: () => void,
): LiveState {
  const token = useToken();
  const signedIn = token !== null;
  const [state, setState] = useState<LiveState>("connecting");
  const handlers = useRef({ onEvent, onResume });
  useEffect(() => {
    handlers.current = { onEvent, onResume };
  });
  useEffect(() => {
    if (!signedIn) return;
    const socket = new LiveSocket(
      path,
      (event) => handlers.current.onEvent(event),
      (next, resumed) => {
        setState(next);
        if (next === "live" && resumed) handlers.current.onResume?.();
      },
    );
    socket.start();
    return () => socket.stop();
  }, [path, signedIn]);
  return state;
}
