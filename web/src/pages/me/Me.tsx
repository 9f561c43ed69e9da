// Me: profile and language, password, address, 2FA, sessions, connected apps and the data
// export.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../../api/client";
import { CLIENT_HEADERS, session } from "../../api/session";
import { Loading, useMe } from "../../auth";
import { ErrorNote, Field, Form } from "../../components/forms";
import { when } from "../feed/PostCard";
import { NewPassword } from "../links/SetPassword";
import { scopeKey } from "../oauth/Consent";
import { TwoFactor } from "./TwoFactor";

export function Me() {
  const { t } = useTranslation();
  const me = useMe();
  if (!me.data) return <Loading />;
  return (
    <div className="me">
      <h1>{t("me.title")}</h1>
      <Profile />
      <TwoFactor />
      <Password />
      <Address />
      <Sessions />
      <ConnectedApps />
      <Export />
    </div>
  );
}

function Profile() {
  const { t } = useTranslation();
  const me = useMe();
  const queryClient = useQueryClient();
  const [name, setName] = useState(me.data?.display_name ?? "");
  const [locale, setLocale] = useState(me.data?.locale ?? "en");
  const [saved, setSaved] = useState(false);
  return (
    <section className="panel" aria-labelledby="profile-title">
      <h2 id="profile-title">{t("me.profile")}</h2>
      <p className="muted">
        {me.data?.email ?? me.data?.username} · {t(`roles.${me.data?.role}`, { defaultValue: me.data?.role })}
      </p>
      <Form
        submit={t("common.save")}
        action={async () => {
          setSaved(false);
          await unwrap(api.PATCH("/api/v1/me", { body: { display_name: name, locale: locale as "en" | "de" } }));
          await queryClient.invalidateQueries({ queryKey: ["me"] });
          setSaved(true);
        }}
      >
        <Field label={t("links.display_name")} value={name} onChange={setName} autoComplete="name" />
        <div className="field">
          <label htmlFor="language">{t("me.language")}</label>
          <select id="language" value={locale} onChange={(e) => setLocale(e.target.value)}>
            <option value="en">English</option>
            <option value="de">Deutsch</option>
          </select>
        </div>
        {saved && <p role="status">{t("common.saved")}</p>}
      </Form>
    </section>
  );
}

function Password() {
  const { t } = useTranslation();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  return (
    <section className="panel" aria-labelledby="password-title">
      <h2 id="password-title">{t("me.password")}</h2>
      <Form
        submit={t("me.change_password")}
        action={async () => {
          await unwrap(api.POST("/api/v1/me/password", { body: { current_password: current, new_password: next } }));
          setDone(true);
          // Every session ends on a password change: sign in again.
          session.ended();
        }}
      >
        <Field label={t("me.current_password")} type="password" value={current} onChange={setCurrent} autoComplete="current-password" />
        <NewPassword value={next} onChange={setNext} />
        {done && <p role="status">{t("me.password_changed")}</p>}
      </Form>
    </section>
  );
}

function Address() {
  const { t } = useTranslation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState(false);
  return (
    <section className="panel" aria-labelledby="address-title">
      <h2 id="address-title">{t("me.address")}</h2>
      {sent ? (
        <p role="status">{t("me.address_sent", { email })}</p>
      ) : (
        <Form
          submit={t("me.change_address")}
          action={async () => {
            await unwrap(api.POST("/api/v1/me/email", { body: { email, password } }));
            setSent(true);
          }}
        >
          <Field label={t("me.new_address")} type="email" value={email} onChange={setEmail} autoComplete="email" />
          <Field label={t("signin.password")} type="password" value={password} onChange={setPassword} autoComplete="current-password" />
        </Form>
      )}
    </section>
  );
}

function Sessions() {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const sessions = useQuery({
    queryKey: ["sessions"],
    queryFn: () => unwrap(api.GET("/api/v1/me/sessions")),
  });
  const revoke = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) {
        await unwrap(api.DELETE("/api/v1/me/sessions/{session_id}", { params: { path: { session_id: id } } }));
      }
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["sessions"] }),
  });
  const items = sessions.data?.items ?? [];
  const others = items.filter((s) => !s.current).map((s) => s.id);
  return (
    <section className="panel" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{t("me.sessions")}</h2>
      <ul className="sessions">
        {items.map((s) => (
          <li key={s.id}>
            <span>
              <strong>{s.user_agent || t("me.unknown_device")}</strong>
              {s.current && <span className="tag">{t("me.this_device")}</span>}
              <br />
              <span className="muted">
                {s.ip} · {t("me.last_used", { when: when(s.last_used_at, i18n.language) })}
              </span>
            </span>
            {!s.current && (
              <button type="button" onClick={() => revoke.mutate([s.id])}>
                {t("me.sign_out_this")}
              </button>
            )}
          </li>
        ))}
      </ul>
      {others.length > 0 && (
        <button type="button" onClick={() => revoke.mutate(others)}>
          {t("me.sign_out_others")}
        </button>
      )}
      <ErrorNote error={revoke.error ?? sessions.error} />
    </section>
  );
}

/** The apps the person allowed (OAuth), each disconnected at once with its tokens. */
function ConnectedApps() {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const apps = useQuery({
    queryKey: ["connected-apps"],
    queryFn: () => unwrap(api.GET("/api/v1/me/connected-apps")),
  });
  const [done, setDone] = useState("");
  const disconnect = useMutation({
    mutationFn: async (app: { client_id: string; name: string }) => {
      await unwrap(api.DELETE("/api/v1/me/connected-apps/{client_id}", { params: { path: { client_id: app.client_id } } }));
      setDone(t("me.app_disconnected", { name: app.name }));
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["connected-apps"] }),
  });
  const items = apps.data ?? [];
  return (
    <section className="panel" aria-labelledby="apps-title">
      <h2 id="apps-title">{t("me.connected_apps")}</h2>
      {items.length === 0 && !apps.isPending && <p className="muted">{t("me.no_connected_apps")}</p>}
      <ul className="sessions">
        {items.map((a) => (
          <li key={a.client_id}>
            <span>
              <strong>{a.name}</strong>
              <br />
              <span className="muted">
                {a.scopes.map((s) => t(scopeKey(s), { defaultValue: s })).join(" · ")}
                <br />
                {t("me.app_allowed", { when: when(a.granted_at, i18n.language) })}
                {a.last_used_at && ` · ${t("me.last_used", { when: when(a.last_used_at, i18n.language) })}`}
              </span>
            </span>
            <button
              type="button"
              onClick={() => disconnect.mutate(a)}
              aria-label={t("me.disconnect_named", { name: a.name })}
            >
              {t("me.disconnect")}
            </button>
          </li>
        ))}
      </ul>
      {done && <p role="status">{done}</p>}
      <ErrorNote error={disconnect.error ?? apps.error} />
    </section>
  );
}

function Export() {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  return (
    <section className="panel" aria-labelledby="export-title">
      <h2 id="export-title">{t("me.export")}</h2>
      <p>{t("me.export_text")}</p>
      <button
        type="button"
        onClick={async () => {
          setError(null);
          const response = await fetch("/api/v1/me/export", {
            headers: { authorization: `Bearer ${session.token ?? ""}`, ...CLIENT_HEADERS },
          });
          if (!response.ok) {
            setError(new Error(`HTTP ${response.status}`));
            return;
          }
          const a = document.createElement("a");
          a.href = URL.createObjectURL(await response.blob());
          a.download = "staffroom-export.zip";
          a.click();
        }}
      >
        {t("me.export_download")}
      </button>
      <ErrorNote error={error} />
    </section>
  );
}
