// Security settings (org.manage): 2FA enforcement with who has not set it up, the org's
// own session lifetimes (shorter than the server's), retention, the email-domain
// restriction; below them the roles and their permissions.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { refresh } from "../api/session";
import { Loading, useMe } from "../auth";
import { NS } from "./i18n";
import { AdminError } from "./lib";
import { Roles } from "./roles";

type Org = Schemas["OrgOut"];
type OrgPatch = Schemas["OrgPatch"];

export function Security() {
  const { t } = useTranslation(NS);
  const org = useQuery({ queryKey: ["admin", "org"], queryFn: () => unwrap(api.GET("/api/v1/org")) });
  const summary = useQuery({
    queryKey: ["admin", "org-security"],
    queryFn: () => unwrap(api.GET("/api/v1/org/security")),
  });
  if (!org.data || !summary.data) {
    return org.error || summary.error ? <AdminError error={org.error ?? summary.error} /> : <Loading />;
  }
  return (
    <>
      <h1>{t("sections.security.title")}</h1>
      <TwoFactor org={org.data} mfa={summary.data.mfa} />
      <Lifetimes org={org.data} server={summary.data.server_sessions} />
      <Retention org={org.data} />
      <Domains org={org.data} />
      <Roles />
    </>
  );
}

/** A panel whose form saves part of the org's settings and says so. */
function Panel(props: {
  id: string;
  title: string;
  patch: () => OrgPatch;
  children: ReactNode;
  saved?: (org: Org) => Promise<void>;
}) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  async function save(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const out = await unwrap(api.PATCH("/api/v1/org", { body: props.patch() }));
      queryClient.setQueryData(["admin", "org"], out);
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ["admin", "org-security"] });
      await props.saved?.(out);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      <form className="form" onSubmit={(e) => void save(e)}>
        {props.children}
        <AdminError error={error} />
        {saved && <p role="status">{t("common.saved")}</p>}
        <button type="submit" className="primary" disabled={busy}>
          {t("common.save")}
        </button>
      </form>
    </section>
  );
}

function Check(props: { label: string; hint: string; checked: boolean; onChange: (value: boolean) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label className="check">
        <input
          type="checkbox"
          checked={props.checked}
          onChange={(e) => props.onChange(e.target.checked)}
          aria-describedby={id}
        />{" "}
        {props.label}
      </label>
      <p className="hint" id={id}>
        {props.hint}
      </p>
    </div>
  );
}

/** A number of hours or days; empty means none chosen (the default, or kept for ever). */
function Amount(props: { label: string; hint: string; value: string; onChange: (value: string) => void; min: number; max: number }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        className="amount"
        type="number"
        inputMode="numeric"
        min={props.min}
        max={props.max}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={`${id}-hint`}
      />
      <p className="hint" id={`${id}-hint`}>
        {props.hint}
      </p>
    </div>
  );
}

const text = (n: number | null | undefined) => (n == null ? "" : String(n));
const number = (s: string) => (s.trim() === "" ? null : Number(s));

function TwoFactor({ org, mfa }: { org: Org; mfa: Schemas["MfaEnrolmentOut"] }) {
  const { t } = useTranslation(NS);
  const me = useMe();
  const queryClient = useQueryClient();
  const [required, setRequired] = useState(org.require_mfa);
  // Requiring 2FA without having it oneself restricts one's own session to setting it up:
  // said before saving, and the app goes to the set-up page after.
  const selfFirst = required && !org.require_mfa && me.data?.mfa_enabled === false;
  return (
    <Panel
      id="security-2fa"
      title={t("security.mfa_title")}
      patch={() => ({ require_mfa: required })}
      saved={async (out) => {
        if (out.require_mfa && !me.data?.mfa_enabled) {
          await refresh(); // the new token's scope sends this session to the set-up page
          await queryClient.invalidateQueries({ queryKey: ["me"] });
        }
      }}
    >
      <p role="status" className={mfa.not_enrolled > 0 && org.require_mfa ? "warn-note" : undefined}>
        {t("security.not_enrolled", { count: mfa.not_enrolled, active: mfa.active })}{" "}
        {mfa.not_enrolled > 0 && <Link to="/admin/people?mfa=off">{t("security.show_them")}</Link>}
      </p>
      <Check
        label={t("security.require_mfa")}
        hint={t("security.require_mfa_hint")}
        checked={required}
        onChange={setRequired}
      />
      {selfFirst && <p className="warn-note">{t("security.self_first")}</p>}
    </Panel>
  );
}

function Lifetimes({ org, server }: { org: Org; server: Schemas["SessionLimitsOut"] }) {
  const { t } = useTranslation(NS);
  const [idle, setIdle] = useState(text(org.session_idle_hours));
  const [absolute, setAbsolute] = useState(text(org.session_absolute_hours));
  return (
    <Panel
      id="security-sessions"
      title={t("security.sessions_title")}
      patch={() => ({ session_idle_hours: number(idle), session_absolute_hours: number(absolute) })}
    >
      <p className="muted">{t("security.sessions_intro", { minutes: server.access_minutes })}</p>
      <Amount
        label={t("security.idle")}
        hint={t("security.idle_hint", { hours: server.idle_hours })}
        value={idle}
        onChange={setIdle}
        min={1}
        max={server.idle_hours}
      />
      <Amount
        label={t("security.absolute")}
        hint={t("security.absolute_hint", { hours: server.absolute_hours })}
        value={absolute}
        onChange={setAbsolute}
        min={1}
        max={server.absolute_hours}
      />
    </Panel>
  );
}

function Retention({ org }: { org: Org }) {
  const { t } = useTranslation(NS);
  const [chat, setChat] = useState(text(org.chat_retention_days));
  const [posts, setPosts] = useState(text(org.post_retention_days));
  const [auditDays, setAuditDays] = useState(text(org.audit_retention_days));
  return (
    <Panel
      id="security-retention"
      title={t("security.retention_title")}
      patch={() => ({
        chat_retention_days: number(chat),
        post_retention_days: number(posts),
        audit_retention_days: number(auditDays),
      })}
    >
      <p className="muted">{t("security.retention_intro")}</p>
      <Amount label={t("security.chat_days")} hint={t("security.keep_hint")} value={chat} onChange={setChat} min={1} max={3650} />
      <Amount label={t("security.post_days")} hint={t("security.keep_hint")} value={posts} onChange={setPosts} min={1} max={3650} />
      <Amount
        label={t("security.audit_days")}
        hint={t("security.audit_hint")}
        value={auditDays}
        onChange={setAuditDays}
        min={90}
        max={3650}
      />
    </Panel>
  );
}

function Domains({ org }: { org: Org }) {
  const { t } = useTranslation(NS);
  const [restrict, setRestrict] = useState(org.restrict_email_domains);
  return (
    <Panel
      id="security-domains"
      title={t("security.domains_title")}
      patch={() => ({ restrict_email_domains: restrict })}
    >
      <Check
        label={t("security.restrict")}
        hint={t("security.restrict_hint")}
        checked={restrict}
        onChange={setRestrict}
      />
      <p>
        <Link to="/admin/domains">{t("security.to_domains")}</Link>
      </p>
    </Panel>
  );
}
