// The SSO wizard's third step for an OpenID Connect IdP: its issuer (Staffroom reads its
// discovery document at sign-in), the client it issued for Staffroom, the scopes, and the
// preset's pin: Google Workspace's domain (hd), Entra ID's tenant. Added turned off, as a
// SAML IdP is; the secret is sent once and never shown again.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError } from "./lib";
import type { Preset } from "./ssoShared";

const DEFAULT_SCOPES = "openid email profile";

export function OidcConnect({ preset }: { preset: Preset }) {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [issuer, setIssuer] = useState("");
  const [clientId, setClientId] = useState("");
  const [secret, setSecret] = useState("");
  const [scopes, setScopes] = useState(preset === "okta" ? `${DEFAULT_SCOPES} groups` : DEFAULT_SCOPES);
  const [hostedDomain, setHostedDomain] = useState("");
  const [tenant, setTenant] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const presetName = t(`sso.oidc.preset.${preset}`);
  async function submit() {
    setBusy(true);
    setError(null);
    try {
      const idp = await unwrap(
        api.POST("/api/v1/sso/idps/oidc", {
          body: {
            name: name.trim() || presetName,
            preset: preset === "adfs" ? "generic" : preset,
            issuer: issuer.trim(),
            client_id: clientId.trim(),
            client_secret: secret,
            scopes: scopes.split(/[\s,]+/).filter(Boolean),
            hosted_domain: preset === "google" ? hostedDomain.trim() : "",
            tenant_id: preset === "entra" ? tenant.trim() : "",
            enabled: false,
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ["admin", "sso"] });
      navigate(`/admin/sso/idps/${idp.id}`, { state: { created: true } });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel" aria-labelledby="step-connect">
      <h2 id="step-connect">{t("sso.wizard.step_connect")}</h2>
      <form
        className="form narrow-admin"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Field label={t("sso.name")} value={name} onChange={setName} required={false} hint={t("sso.name_hint", { name: presetName })} autoComplete="off" />
        <Field label={t("sso.oidc.issuer")} type="url" value={issuer} onChange={setIssuer} hint={t(`sso.oidc.issuer_hint.${preset}`, { defaultValue: t("sso.oidc.issuer_hint.generic") })} autoComplete="off" />
        <Field label={t("sso.oidc.client_id")} value={clientId} onChange={setClientId} autoComplete="off" />
        <Field label={t("sso.oidc.client_secret")} type="password" value={secret} onChange={setSecret} hint={t("sso.oidc.client_secret_hint")} autoComplete="new-password" />
        <Field label={t("sso.oidc.scopes")} value={scopes} onChange={setScopes} hint={t("sso.oidc.scopes_hint")} autoComplete="off" />
        {preset === "google" && (
          <Field label={t("sso.oidc.hosted_domain")} value={hostedDomain} onChange={setHostedDomain} hint={t("sso.oidc.hosted_domain_hint")} autoComplete="off" />
        )}
        {preset === "entra" && <Field label={t("sso.oidc.tenant_id")} value={tenant} onChange={setTenant} hint={t("sso.oidc.tenant_id_hint")} autoComplete="off" />}
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t("sso.wizard.connect")}
        </button>
      </form>
    </section>
  );
}
