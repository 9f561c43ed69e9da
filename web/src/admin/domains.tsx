// Domains: claim a company email domain, publish the TXT record shown, verify it (and see
// in words why a check failed: no record, a wrong value with what was found, the resolver),
// default role and groups for people joining through it, and removal.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, GroupChecklist, RoleSelect, when } from "./lib";

type Domain = Schemas["DomainOut"];
type Failure = { reason: string; found: string[] };

function useDomains() {
  return useQuery({ queryKey: ["admin", "domains"], queryFn: () => unwrap(api.GET("/api/v1/domains")) });
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const { t } = useTranslation(NS);
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setCopied(true));
      }}
    >
      {copied ? t("common.copied") : t("common.copy")}
    </button>
  );
}

export function Domains() {
  const { t } = useTranslation(NS);
  const domains = useDomains();
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const queryClient = useQueryClient();
  async function claim() {
    setBusy(true);
    setError(null);
    try {
      await unwrap(api.POST("/api/v1/domains", { body: { domain: name } }));
      setName("");
      await queryClient.invalidateQueries({ queryKey: ["admin", "domains"] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.domains.title")}</h1>
      </div>
      <p className="muted">{t("domains.intro")}</p>
      <form
        className="form narrow-admin"
        aria-label={t("domains.claim")}
        onSubmit={(e) => {
          e.preventDefault();
          void claim();
        }}
      >
        <Field label={t("domains.domain")} value={name} onChange={setName} autoComplete="off" hint={t("domains.domain_hint")} />
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t("domains.claim")}
        </button>
      </form>
      <AdminError error={domains.error} />
      {domains.isPending ? (
        <Loading />
      ) : !domains.data?.items.length ? (
        <p>{t("domains.none")}</p>
      ) : (
        domains.data.items.map((d) => <DomainCard key={d.id} domain={d} />)
      )}
    </>
  );
}

function DomainCard({ domain }: { domain: Domain }) {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [done, setDone] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const titleId = useId();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["admin", "domains"] });
  const path = { params: { path: { domain_id: domain.id } } };
  async function verify() {
    setBusy(true);
    setError(null);
    setFailure(null);
    setDone("");
    try {
      await unwrap(api.POST("/api/v1/domains/{domain_id}/verify", path));
      setDone(t("domains.verified_now", { domain: domain.domain }));
    } catch (e) {
      if (e instanceof ApiError && e.code === "domain_not_verified" && e.problem.reason) {
        setFailure({ reason: e.problem.reason, found: e.problem.found ?? [] });
      } else setError(e);
    } finally {
      setBusy(false);
      await refresh();
    }
  }
  async function remove() {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/domains/{domain_id}", path));
      await refresh();
    } catch (e) {
      setError(e);
    }
  }
  const verified = domain.status === "verified";
  return (
    <section className="panel" aria-labelledby={titleId}>
      <div className="admin-title">
        <h2 id={titleId}>{domain.domain}</h2>
        <span className={verified ? "tag ok-tag" : "tag warn"}>{t(`domains.status.${domain.status}`)}</span>
      </div>
      {!verified && (
        <>
          <p>{t("domains.publish")}</p>
          <dl className="facts">
            <dt>{t("domains.record_type")}</dt>
            <dd>
              <code>{domain.verification.type}</code>
            </dd>
            <dt>{t("domains.record_name")}</dt>
            <dd>
              <code>{domain.verification.name}</code>{" "}
              <CopyButton text={domain.verification.name} label={t("domains.copy_name", { domain: domain.domain })} />
            </dd>
            <dt>{t("domains.record_value")}</dt>
            <dd>
              <code className="breakable">{domain.verification.value}</code>{" "}
              <CopyButton text={domain.verification.value} label={t("domains.copy_value", { domain: domain.domain })} />
            </dd>
          </dl>
          {domain.last_checked_at && !failure && domain.last_check_error && (
            <p className="warn-note">
              {t("domains.last_check", { when: when(domain.last_checked_at, i18n.language) })} {domain.last_check_error}
            </p>
          )}
        </>
      )}
      {verified && <p className="muted">{t("domains.verified_at", { when: when(domain.verified_at, i18n.language) })}</p>}
      {failure && (
        <div className="warn-note" role="alert">
          <p>
            <strong>{t(`domains.reason.${failure.reason}`, { defaultValue: failure.reason })}</strong> {t("domains.dns_delay")}
          </p>
          {failure.found.length > 0 && (
            <>
              <p>{t("domains.found")}</p>
              <ul>
                {failure.found.map((v, n) => (
                  <li key={n}>
                    <code className="breakable">{v}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      {error instanceof ApiError && error.code === "dns_unavailable" ? (
        <p className="error" role="alert">
          {t("domains.reason.resolver")}
        </p>
      ) : (
        <AdminError error={error} />
      )}
      {done && <p role="status">{done}</p>}
      <Defaults domain={domain} />
      <div className="row">
        {!verified && (
          <button type="button" className="primary" disabled={busy} onClick={() => void verify()} aria-label={t("domains.verify_for", { domain: domain.domain })}>
            {t("domains.verify")}
          </button>
        )}
        {!confirm ? (
          <button type="button" onClick={() => setConfirm(true)} aria-label={t("domains.remove_for", { domain: domain.domain })}>
            {t("domains.remove")}
          </button>
        ) : (
          <div className="confirm">
            <p>{t("domains.remove_confirm", { domain: domain.domain })}</p>
            <div className="row">
              <button type="button" className="danger" onClick={() => void remove()}>
                {t("domains.remove_yes")}
              </button>
              <button type="button" onClick={() => setConfirm(false)}>
                {t("common.cancel")}
              </button>
            </div>
          </div>
        )}
      </div>
    </section>
  );
}

function Defaults({ domain }: { domain: Domain }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [role, setRole] = useState(domain.default_role);
  const [groupIds, setGroupIds] = useState<string[]>(domain.default_group_ids);
  const [subdomains, setSubdomains] = useState(domain.allow_subdomains);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  async function save() {
    setError(null);
    setSaved(false);
    try {
      await unwrap(
        api.PATCH("/api/v1/domains/{domain_id}", {
          params: { path: { domain_id: domain.id } },
          body: { default_role: role, default_group_ids: groupIds, allow_subdomains: subdomains },
        }),
      );
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ["admin", "domains"] });
    } catch (e) {
      setError(e);
    }
  }
  return (
    <details>
      <summary>{t("domains.defaults")}</summary>
      <form
        className="form narrow-admin"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <RoleSelect label={t("domains.default_role")} value={role} onChange={setRole} />
        <GroupChecklist legend={t("domains.default_groups")} value={groupIds} onChange={setGroupIds} />
        <label>
          <input type="checkbox" checked={subdomains} onChange={(e) => setSubdomains(e.target.checked)} /> {t("domains.subdomains")}
        </label>
        <AdminError error={error} />
        {saved && <p role="status">{t("common.saved")}</p>}
        <button type="submit">{t("common.save")}</button>
      </form>
    </details>
  );
}
