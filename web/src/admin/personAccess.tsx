// A person's access, on their page: how they sign in and their 2FA (with the reset for a
// lost phone), and their sessions, each of which an admin can end (or all at once).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { hasPermission, Loading, useMe } from "../auth";
import { NS } from "./i18n";
import { AdminError, DataTable, when } from "./lib";

type User = Schemas["UserOut"];
type Session = Schemas["SessionOut"];
export const SESSIONS_REFRESH_MS = 5_000;

const BROWSERS: [string, string][] = [
  ["Edg/", "Edge"],
  ["Firefox/", "Firefox"],
  ["Chrome/", "Chrome"],
  ["Safari/", "Safari"],
];
const SYSTEMS: [string, string][] = [
  ["Android", "Android"],
  ["iPhone", "iOS"],
  ["iPad", "iPadOS"],
  ["Windows", "Windows"],
  ["Mac OS X", "macOS"],
  ["Linux", "Linux"],
];

/** "Chrome · Windows" from a user agent: enough to tell a person's devices apart. */
export function device(ua: string): string {
  const browser = BROWSERS.find(([mark]) => ua.includes(mark))?.[1] ?? "";
  const system = SYSTEMS.find(([mark]) => ua.includes(mark))?.[1] ?? "";
  if (browser && system) return `${browser} · ${system}`;
  return browser || system || ua.slice(0, 60) || "?";
}

export function SignIn({ user }: { user: User }) {
  const { t, i18n } = useTranslation(NS);
  const me = useMe();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const path = { params: { path: { user_id: user.id } } };
  const methods = useQuery({
    queryKey: ["admin", "sign-in", user.id],
    queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}/sign-in", path)),
  });
  async function reset() {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/users/{user_id}/mfa", path));
      setConfirming(false);
      setDone(true);
      await queryClient.invalidateQueries({ queryKey: ["admin"] });
    } catch (e) {
      setError(e);
    }
  }
  const m = methods.data;
  const mayReset = hasPermission(me.data, "users.mfa_reset") && user.id !== me.data?.id;
  return (
    <section className="panel" aria-labelledby="person-sign-in">
      <h2 id="person-sign-in">{t("person_access.sign_in")}</h2>
      <AdminError error={methods.error} />
      {!m ? (
        !methods.error && <Loading />
      ) : (
        <dl className="facts">
          <dt>{t("person_access.password")}</dt>
          <dd>{m.password ? t("person_access.password_set") : t("person_access.password_none")}</dd>
          <dt>{t("person_access.sso")}</dt>
          <dd>
            {m.sso.length === 0
              ? t("person_access.sso_none")
              : m.sso.map((link) => (
                  <span key={link.idp} className="block">
                    {t("person_access.sso_link", {
                      idp: link.idp,
                      when: when(link.last_login_at ?? link.linked_at, i18n.language),
                    })}
                  </span>
                ))}
            {m.sso_break_glass && <span className="block">{t("person_access.break_glass")}</span>}
          </dd>
          <dt>{t("person.two_factor")}</dt>
          <dd>
            {m.mfa_enabled
              ? t("person_access.mfa_since", { when: when(m.mfa_enabled_at, i18n.language) })
              : t("person.mfa_off")}
            {m.mfa_locked_until && (
              <span className="block">
                {t("person_access.mfa_locked", { when: when(m.mfa_locked_until, i18n.language) })}
              </span>
            )}
          </dd>
          {m.mfa_enabled && (
            <>
              <dt>{t("person_access.recovery_codes")}</dt>
              <dd>{t("person_access.codes_left", { count: m.recovery_codes_left })}</dd>
            </>
          )}
        </dl>
      )}
      {done && <p role="status">{t("person_access.mfa_reset_done", { name: user.display_name })}</p>}
      {m?.mfa_enabled && mayReset &&
        (confirming ? (
          <div className="confirm" role="group" aria-label={t("person_access.mfa_reset")}>
            <p>{t("person_access.mfa_reset_what")}</p>
            <div className="row">
              <button type="button" className="danger" onClick={() => void reset()}>
                {t("person_access.mfa_reset_now", { name: user.display_name })}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                {t("common.cancel")}
              </button>
            </div>
          </div>
        ) : (
          <button type="button" onClick={() => setConfirming(true)}>
            {t("person_access.mfa_reset")}
          </button>
        ))}
      <AdminError error={error} />
    </section>
  );
}

export function Sessions({ user }: { user: User }) {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const [confirmAll, setConfirmAll] = useState(false);
  const key = ["admin", "sessions", user.id];
  const sessions = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(api.GET("/api/v1/users/{user_id}/sessions", { params: { path: { user_id: user.id } } })),
    refetchInterval: SESSIONS_REFRESH_MS,
  });
  async function end(session: Session | null) {
    setError(null);
    try {
      if (session) {
        await unwrap(
          api.DELETE("/api/v1/users/{user_id}/sessions/{session_id}", {
            params: { path: { user_id: user.id, session_id: session.id } },
          }),
        );
        setDone(t("person_access.ended_session", { device: device(session.user_agent) }));
      } else {
        const out = await unwrap(
          api.DELETE("/api/v1/users/{user_id}/sessions", { params: { path: { user_id: user.id } } }),
        );
        setDone(t("person_access.ended_all", { count: out.revoked }));
        setConfirmAll(false);
      }
      await queryClient.invalidateQueries({ queryKey: key });
    } catch (e) {
      setError(e);
    }
  }
  const rows = sessions.data?.items ?? [];
  // An admin's own "everywhere" keeps the session they are using.
  const others = rows.filter((s) => !s.current).length;
  return (
    <section className="panel" aria-labelledby="person-sessions">
      <h2 id="person-sessions">{t("person_access.sessions")}</h2>
      <p className="muted">{t("person_access.sessions_intro")}</p>
      <AdminError error={error ?? sessions.error} />
      {done && <p role="status">{done}</p>}
      {sessions.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("person_access.no_sessions")}</p>
      ) : (
        <DataTable
          caption={t("person_access.sessions")}
          rows={rows}
          rowKey={(s) => s.id}
          columns={[
            {
              header: t("person_access.device"),
              cell: (s) => (
                <>
                  <span title={s.user_agent}>{device(s.user_agent)}</span>
                  {s.current && <span className="tag">{t("person_access.this_session")}</span>}
                </>
              ),
            },
            { header: t("person_access.address"), cell: (s) => s.ip || "–" },
            { header: t("person_access.started"), cell: (s) => when(s.created_at, i18n.language) },
            { header: t("person_access.last_active"), cell: (s) => when(s.last_used_at, i18n.language) },
            {
              header: t("invites.actions"),
              cell: (s) => (
                <button
                  type="button"
                  onClick={() => void end(s)}
                  aria-label={t("person_access.end_named", { device: device(s.user_agent), when: when(s.created_at, i18n.language) })}
                >
                  {t("person_access.end")}
                </button>
              ),
            },
          ]}
        />
      )}
      {others > 0 &&
        (confirmAll ? (
          <div className="confirm" role="group" aria-label={t("person_access.end_all")}>
            <p>{t("person_access.end_all_what", { name: user.display_name })}</p>
            <div className="row">
              <button type="button" className="danger" onClick={() => void end(null)}>
                {t("person_access.end_all_now", { count: others })}
              </button>
              <button type="button" onClick={() => setConfirmAll(false)}>
                {t("common.cancel")}
              </button>
            </div>
          </div>
        ) : (
          <button type="button" onClick={() => setConfirmAll(true)}>
            {t("person_access.end_all")}
          </button>
        ))}
    </section>
  );
}
