// Who is signed in: resumes the session from the refresh cookie on load, and sends the
// person to sign-in when the session ends (here or in another tab).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation } from "react-router";
import { api, unwrap, type Schemas } from "./api/client";
import { refresh, session } from "./api/session";
import { useLanguage } from "./i18n";

const Resumed = createContext(false);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [resumed, setResumed] = useState(false);
  const queryClient = useQueryClient();
  useEffect(() => {
    void refresh().finally(() => setResumed(true));
    // Whatever was cached belongs to the session that ended.
    return session.subscribe(() => {
      if (session.token === null) queryClient.clear();
    });
  }, [queryClient]);
  return <Resumed.Provider value={resumed}>{children}</Resumed.Provider>;
}

export function useToken(): string | null {
  return useSyncExternalStore(session.subscribe, () => session.token);
}

export function useMe() {
  const token = useToken();
  return useQuery({
    queryKey: ["me"],
    queryFn: () => unwrap(api.GET("/api/v1/me")),
    enabled: token !== null,
    staleTime: 60_000,
  });
}

export function hasPermission(me: Schemas["MeOut"] | undefined, permission: string): boolean {
  return !!me?.permissions.includes(permission);
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status">
      {t("common.loading")}
    </p>
  );
}

/** Pages for signed-in people; a session that may only enrol in 2FA goes to enrolment. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const resumed = useContext(Resumed);
  const token = useToken();
  const location = useLocation();
  const me = useMe();
  useLanguage(me.data?.locale);
  if (!resumed) return <Loading />;
  if (token === null) {
    const next = location.pathname + location.search;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  if (session.scope === "enrol" && location.pathname !== "/enrol") {
    return <Navigate to="/enrol" replace />;
  }
  return <>{children}</>;
}

/** Where to go after signing in: only a path of this app, never another site. */
export function safeNext(raw: string | null): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/feed";
  return raw;
}

/** Whether discovery's methods for an org include single sign-on: it names the protocol
 * ("saml", "oidc"), and both start at the org's same login URL. */
export function hasSso(methods: readonly string[] | undefined): boolean {
  return !!methods && (methods.includes("saml") || methods.includes("oidc"));
}
