// A live socket to the built-in relay (`/api/v1/realtime/ws` for the feed,
// `/api/v1/chat/ws` for chat). The access token is the first message, never in the URL;
// a refreshed token is sent again on the open socket. Close codes (AsyncAPI document at
// /schema/asyncapi.json): 4401 the session ended (refresh, else sign-in), 4000 what the
// person may read changed (reconnect now), 1013 try again later.
import { refresh, session } from "../api/session";

export type LiveEvent = { type: string; [key: string]: unknown };
export type LiveState = "connecting" | "live" | "offline";

export class LiveSocket {
  private socket: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: () => void;
  private sentToken: string | null = null;

  constructor(
    private readonly path: string,
    private readonly onEvent: (event: LiveEvent) => void,
    private readonly onState: (state: LiveState, resumed: boolean) => void,
  ) {
    this.unsubscribe = session.subscribe(() => this.renew());
    window.addEventListener("online", this.reconnectNow);
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.unsubscribe();
    window.removeEventListener("online", this.reconnectNow);
    this.socket?.close(1000);
    this.socket = null;
  }

  private reconnectNow = (): void => {
    if (this.stopped) return;
    clearTimeout(this.retry);
    if (!this.socket || this.socket.readyState > WebSocket.OPEN) this.connect();
  };

  private renew(): void {
    const token = session.token;
    if (token === null) {
      this.stop();
      return;
    }
    if (this.socket?.readyState === WebSocket.OPEN && token !== this.sentToken) {
      this.sentToken = token;
      this.socket.send(JSON.stringify({ type: "auth", access_token: token }));
    }
  }

  private connect(): void {
    const token = session.token;
    if (this.stopped || token === null) return;
    const resumed = this.attempt > 0;
    this.onState("connecting", resumed);
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}${this.path}`);
    this.socket = socket;
    socket.onopen = () => {
      this.sentToken = session.token;
      socket.send(JSON.stringify({ type: "auth", access_token: this.sentToken }));
    };
    socket.onmessage = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as LiveEvent;
      if (event.type === "ready") {
        this.onState("live", this.attempt > 0);
        this.attempt = 0;
      } else if (event.type !== "renewed" && event.type !== "error") {
        this.onEvent(event);
      }
    };
    socket.onclose = (close: CloseEvent) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      this.onState("offline", false);
      this.attempt += 1;
      if (close.code === 4401) {
        void refresh().then((ok) => (ok ? this.connect() : session.ended()));
        return;
      }
      const wait = close.code === 4000 ? 0 : Math.min(30_000, 500 * 2 ** Math.min(this.attempt, 6));
      this.retry = setTimeout(() => this.connect(), wait);
    };
  }
}
