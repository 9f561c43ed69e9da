// The API client: types generated from the server's OpenAPI document (schema.d.ts, made
// by `make web-types`), requests through openapi-fetch. Every request carries the access
// token; a 401 refreshes once and tries again.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { CLIENT_HEADERS, refresh, session } from "./session";

export type Schemas = components["schemas"];

export type Problem = {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  /** Why a check failed (a stable word) and what was found instead, when the API says. */
  reason?: string | null;
  found?: string[] | null;
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter: number | null;
  /** The whole problem, for pages that show more of it (a failed check's reason and findings). */
  readonly problem: Problem;

  constructor(problem: Problem, retryAfter: number | null) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.problem = problem;
    this.status = problem.status;
    this.code = problem.code ?? "";
    this.retryAfter = retryAfter;
  }
}

function withToken(request: Request): Request {
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(CLIENT_HEADERS)) headers.set(name, value);
  if (session.token) headers.set("authorization", `Bearer ${session.token}`);
  return new Request(request, { headers, credentials: "same-origin" });
}

async function authFetch(request: Request): Promise<Response> {
  const spare = request.clone();
  const sent = session.token;
  const response = await fetch(withToken(request));
  const isAuthRoute = new URL(request.url).pathname.startsWith("/api/v1/auth/");
  if (response.status !== 401 || sent === null || isAuthRoute) return response;
  // Another tab's refresh replaced this token, or it expired: refresh once and retry.
  if (session.token === sent && !(await refresh())) return response;
  return fetch(withToken(spare));
}

export const api = createClient<paths>({ baseUrl: window.location.origin, fetch: authFetch });

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an ApiError carrying the problem's status, code and wait. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const problem = (error && typeof error === "object" ? error : {}) as Problem;
  const retry = response.headers.get("retry-after");
  throw new ApiError({ ...problem, status: response.status }, retry ? Number(retry) : null);
}
