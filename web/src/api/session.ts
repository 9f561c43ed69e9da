// The signed-in session of this tab. The access token lives in memory only; the refresh
// token is an HttpOnly cookie the page cannot read (SECURITY.md rule 15). Tabs of the same
// browser share one session: a tab that refreshes tells the others the new access token
// over a BroadcastChannel (memory to memory, never storage), and refreshes are taken one
// at a time across tabs (Web Locks) because a refresh token works once.

export type Scope = "full" | "enrol";
type Listener = () => void;
type Message =
  | { type: "token"; token: string; scope: Scope; expiresIn: number }
  | { type: "signed-out" };

export const CLIENT_HEADERS = { "x-staffroom-client": "web" } as const;

let token: string | null = null;
let scope: Scope | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<Listener>();
const channel =
  typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("staffroom-session");

function notify(): void {
  for (const listener of listeners) listener();
}

function schedule(expiresIn: number): void {
  clearTimeout(timer);
  // A minute before the access token expires (it lives 15 minutes).
  const ms = Math.max(5, expiresIn - 60) * 1000;
  timer = setTimeout(() => void refresh(), ms);
}

function set(next: string, nextScope: Scope, expiresIn: number, tell: boolean): void {
  token = next;
  scope = nextScope;
  schedule(expiresIn);
  if (tell) channel?.postMessage({ type: "token", token: next, scope: nextScope, expiresIn });
  notify();
}

function drop(tell: boolean): void {
  clearTimeout(timer);
  const had = token !== null;
  token = null;
  scope = null;
  if (tell) channel?.postMessage({ type: "signed-out" });
  if (had || tell) notify();
}

if (channel) {
  channel.onmessage = (event: MessageEvent<Message>) => {
    const msg = event.data;
    if (msg.type === "token") set(msg.token, msg.scope, msg.expiresIn, false);
    else if (msg.type === "signed-out") drop(false);
  };
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request("staffroom-refresh", work);
  }
  return work();
}

let inflight: Promise<boolean> | null = null;

/** A new access token from the refresh cookie; false when the session is gone. */
export function refresh(): Promise<boolean> {
  if (inflight) return inflight;
  const before = token;
  inflight = withLock(async () => {
    // Another tab may have refreshed while this one waited for the lock.
    if (token !== null && token !== before) return true;
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json", ...CLIENT_HEADERS },
      body: "{}",
      credentials: "same-origin",
    });
    if (!response.ok) {
      if (response.status === 401 || response.status === 403) drop(before !== null);
      return false;
    }
    const pair = (await response.json()) as { access_token: string; scope: Scope; expires_in: number };
    set(pair.access_token, pair.scope, pair.expires_in, true);
    return true;
  }).finally(() => {
    inflight = null;
  });
  return inflight;
}

export const session = {
  get token(): string | null {
    return token;
  },
  get scope(): Scope | null {
    return scope;
  },
  /** Take the tokens a sign-in answered with (the refresh token came as a cookie). */
  adopt(pair: { access_token: string; scope?: string; expires_in: number }): void {
    set(pair.access_token, pair.scope === "enrol" ? "enrol" : "full", pair.expires_in, true);
  },
  /** End the session on the server and in every tab. */
  async signOut(): Promise<void> {
    const current = token;
    drop(true);
    if (current) {
      await fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${current}`, ...CLIENT_HEADERS },
        credentials: "same-origin",
      }).catch(() => undefined);
    }
  },
  /** Forget the session here and in the other tabs (it ended on the server). */
  ended(): void {
    drop(true);
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
