// One identity provider: the rest of the set-up wizard (what to paste into the IdP,
// attributes and groups, a test sign-in, turning it on) and its settings afterwards:
// accounts at first sign-in, the IdP-MFA policy, certificates (rollover), removal.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Missing } from "../components/bits";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, RoleSelect } from "./lib";
import { Mapping } from "./ssoMapping";
import { Certificates, OidcValues, SpValues, useIdp, type Idp } from "./ssoShared";
import { TestSignIn } from "./ssoTest";

function usePatch(idp: Idp) {
  const queryClient = useQueryClient();
  return async (body: Schemas["IdpPatch"]) => {
    await unwrap(api.PATCH("/api/v1/sso/idps/{idp_id}", { params: { path: { idp_id: idp.id } }, body }));
    await queryClient.invalidateQueries({ queryKey: ["admin", "sso"] });
  };
}

export function SsoIdp() {
  const { t } = useTranslation(NS);
  const { idpId = "" } = useParams();
  const idp = useIdp(idpId);
  const created = (useLocation().state as { created?: boolean } | null)?.created;
  if (idp.error) return <Missing error={idp.error} back="/admin/sso" backLabel={t("sso.back")} />;
  if (!idp.data) return <Loading />;
  const data = idp.data;
  return (
    <>
      <div className="admin-title">
        <h1>{data.name}</h1>
        <span className={data.enabled ? "tag ok-tag" : "tag warn"}>{t(data.enabled ? "sso.on" : "sso.off")}</span>
      </div>
      <p>
        <Link to="/admin/sso">{t("sso.back")}</Link> · <Link to={`/admin/sso/doctor#idp-${data.id}`}>{t("sso.doctor.title")}</Link>
      </p>
      {created && <p role="status">{t("sso.created")}</p>}
      <details className="panel" open={created}>
        <summary>{t("sso.wizard.step_sp")}</summary>
        {data.kind === "oidc" ? <OidcFacts idp={data} /> : <SpValues sp={data} preset={data.preset} />}
      </details>
      <Mapping idp={data} />
      <TestSignIn idp={data} />
      <Accounts idp={data} />
      {data.kind === "saml" && <Rollover idp={data} />}
      <TurnOn idp={data} />
    </>
  );
}

/** An OpenID Connect IdP: our redirect URI to register, and what we know of it (never
 * the client secret, only whether it is set). */
function OidcFacts({ idp }: { idp: Idp }) {
  const { t } = useTranslation(NS);
  const rows: [string, string][] = [
    ["issuer", idp.issuer],
    ["client_id", idp.client_id],
    ["client_secret", t(idp.client_secret_set ? "sso.oidc.secret_set" : "sso.oidc.secret_missing")],
    ["scopes", idp.scopes.join(" ")],
  ];
  if (idp.hosted_domain) rows.push(["hosted_domain", idp.hosted_domain]);
  if (idp.tenant_id) rows.push(["tenant_id", idp.tenant_id]);
  return (
    <>
      <OidcValues redirectUri={idp.redirect_uri} preset={idp.preset} />
      <dl className="facts">
        {rows.map(([key, value]) => (
          <div key={key} className="fact-row">
            <dt>{t(`sso.oidc.${key}`)}</dt>
            <dd className="breakable">{value}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

function Accounts({ idp }: { idp: Idp }) {
  const { t } = useTranslation(NS);
  const patch = usePatch(idp);
  const [jit, setJit] = useState(idp.jit);
  const [role, setRole] = useState(idp.default_role);
  const [domains, setDomains] = useState(idp.email_domains.join(", "));
  const [initiated, setInitiated] = useState(idp.idp_initiated);
  const [mfa, setMfa] = useState(idp.enforces_mfa);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  async function save() {
    setError(null);
    setSaved(false);
    try {
      const email_domains = domains.split(/[,\s]+/).filter(Boolean);
      // IdP-initiated sign-in is SAML's: an OIDC IdP has no such field.
      const saml = idp.kind === "saml" ? { idp_initiated: initiated } : {};
      await patch({ jit, default_role: role, email_domains, enforces_mfa: mfa, ...saml });
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section className="panel" aria-labelledby="sso-accounts">
      <h2 id="sso-accounts">{t("sso.accounts.title")}</h2>
      <form
        className="form narrow-admin"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label className="check">
          <input type="checkbox" checked={jit} onChange={(e) => setJit(e.target.checked)} /> {t("sso.accounts.jit")}
        </label>
        <p className="hint">{t("sso.accounts.jit_hint")}</p>
        <RoleSelect label={t("sso.accounts.default_role")} value={role} onChange={setRole} />
        <Field label={t("sso.accounts.domains")} value={domains} onChange={setDomains} required={false} hint={t("sso.accounts.domains_hint")} autoComplete="off" />
        {idp.kind === "saml" && (
          <label className="check">
            <input type="checkbox" checked={initiated} onChange={(e) => setInitiated(e.target.checked)} /> {t("sso.accounts.idp_initiated")}
          </label>
        )}
        <fieldset className="choices">
          <legend>{t("sso.mfa.title")}</legend>
          <label>
            <input type="radio" name="mfa" checked={mfa} onChange={() => setMfa(true)} /> {t("sso.mfa.trust")}
          </label>
          <label>
            <input type="radio" name="mfa" checked={!mfa} onChange={() => setMfa(false)} /> {t("sso.mfa.own")}
          </label>
        </fieldset>
        <AdminError error={error} />
        {saved && <p role="status">{t("common.saved")}</p>}
        <button type="submit">{t("common.save")}</button>
      </form>
    </section>
  );
}

function Rollover({ idp }: { idp: Idp }) {
  const { t } = useTranslation(NS);
  const patch = usePatch(idp);
  const [pem, setPem] = useState("");
  const [error, setError] = useState<unknown>(null);
  const id = useId();
  // The API keeps the PEM texts to itself; a rollover sends the kept ones back by subject.
  async function change(certificates: string[]) {
    setError(null);
    try {
      await patch({ certificates });
      setPem("");
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section className="panel" aria-labelledby="sso-certs">
      <h2 id="sso-certs">{t("sso.cert.title")}</h2>
      <Certificates idp={idp} />
      <p className="muted">{t("sso.cert.rollover")}</p>
      <form
        className="form narrow-admin"
        onSubmit={(e) => {
          e.preventDefault();
          void change([...idp.certificates.map((c) => c.pem), pem]);
        }}
      >
        <div className="field">
          <label htmlFor={id}>{t("sso.cert.new")}</label>
          <textarea id={id} rows={5} value={pem} onChange={(e) => setPem(e.target.value)} required spellCheck={false} />
        </div>
        <AdminError error={error} />
        <button type="submit">{t("sso.cert.add")}</button>
      </form>
      {idp.certificates.length > 1 && (
        <div className="row">
          {idp.certificates.map((c, n) => (
            <button
              key={n}
              type="button"
              onClick={() => void change(idp.certificates.filter((_, i) => i !== n).map((x) => x.pem))}
              aria-label={t("sso.cert.remove_named", { subject: c.subject })}
            >
              {t("sso.cert.remove")} {n + 1}
            </button>
          ))}
        </div>
      )}
    </section>
  );
}

function TurnOn({ idp }: { idp: Idp }) {
  const { t } = useTranslation(NS);
  const patch = usePatch(idp);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState(false);
  async function toggle() {
    setError(null);
    try {
      await patch({ enabled: !idp.enabled });
    } catch (e) {
      setError(e);
    }
  }
  async function remove() {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/sso/idps/{idp_id}", { params: { path: { idp_id: idp.id } } }));
      await queryClient.invalidateQueries({ queryKey: ["admin", "sso"] });
      navigate("/admin/sso");
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section className="panel" aria-labelledby="sso-on">
      <h2 id="sso-on">{t("sso.turn.title")}</h2>
      <p>{t(idp.enabled ? "sso.turn.is_on" : "sso.turn.is_off")}</p>
      <AdminError error={error} />
      <div className="row">
        <button type="button" className={idp.enabled ? undefined : "primary"} onClick={() => void toggle()}>
          {t(idp.enabled ? "sso.turn.off" : "sso.turn.on")}
        </button>
        {!confirm ? (
          <button type="button" onClick={() => setConfirm(true)}>
            {t("sso.remove")}
          </button>
        ) : (
          <div className="confirm">
            <p>{t("sso.remove_confirm", { name: idp.name })}</p>
            <div className="row">
              <button type="button" className="danger" onClick={() => void remove()}>
                {t("sso.remove_yes")}
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
