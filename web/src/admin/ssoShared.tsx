// What the SSO pages share: the org's SSO settings and IdPs, our service provider's values
// to copy into the IdP (with each preset's hints), an attempt's reason in words (the SSO
// doctor's and the test sign-in's), certificates with their expiry.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { CopyButton } from "./domains";
import { NS } from "./i18n";
import { day } from "./lib";

export type Idp = Schemas["IdpOut"];
export type Attempt = Schemas["AttemptOut"];
export const PRESETS = ["entra", "okta", "google", "keycloak", "adfs", "generic"] as const;
export type Preset = (typeof PRESETS)[number];
/** The presets an OpenID Connect IdP can have (AD FS is SAML here). */
export const OIDC_PRESETS = ["entra", "okta", "google", "keycloak", "generic"] as const;
export const PROTOCOLS = ["saml", "oidc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const FIELDS = ["email", "given_name", "surname", "display_name", "groups", "employee_id"] as const;
/** Certificates this close to expiry are flagged (the API's CERT_WARNING_DAYS). */
export const CERT_WARNING_DAYS = 30;

export function useSsoSettings() {
  return useQuery({ queryKey: ["admin", "sso"], queryFn: () => unwrap(api.GET("/api/v1/sso/saml")) });
}

export function useIdp(idpId: string) {
  return useQuery({
    queryKey: ["admin", "sso", "idp", idpId],
    queryFn: () => unwrap(api.GET("/api/v1/sso/idps/{idp_id}", { params: { path: { idp_id: idpId } } })),
  });
}

/** Our SP's values to paste into the IdP, each with a copy button, and the preset's hint. */
export function SpValues({ sp, preset }: { sp: Pick<Idp, "sp_entity_id" | "sp_acs_url" | "sp_slo_url" | "sp_metadata_url">; preset: string }) {
  const { t } = useTranslation(NS);
  const rows: [string, string][] = [
    ["entity_id", sp.sp_entity_id],
    ["acs_url", sp.sp_acs_url],
    ["slo_url", sp.sp_slo_url],
    ["metadata_url", sp.sp_metadata_url],
  ];
  return (
    <>
      <p>{t(`sso.hint.${preset}`, { defaultValue: t("sso.hint.generic") })}</p>
      <dl className="facts">
        {rows.map(([key, value]) => (
          <div key={key} className="fact-row">
            <dt>{t(`sso.sp.${key}`)}</dt>
            <dd>
              <code className="breakable">{value}</code>{" "}
              <CopyButton text={value} label={t("sso.sp.copy", { what: t(`sso.sp.${key}`) })} />
            </dd>
          </div>
        ))}
      </dl>
      <p>
        <a href={sp.sp_metadata_url} download="staffroom-sp-metadata.xml">
          {t("sso.sp.download")}
        </a>
      </p>
    </>
  );
}

/** The redirect URI to register at an OpenID Connect IdP, with the preset's hint. */
export function OidcValues({ redirectUri, preset }: { redirectUri: string; preset: string }) {
  const { t } = useTranslation(NS);
  return (
    <>
      <p>{t(`sso.oidc.hint.${preset}`, { defaultValue: t("sso.oidc.hint.generic") })}</p>
      <dl className="facts">
        <div className="fact-row">
          <dt>{t("sso.oidc.redirect_uri")}</dt>
          <dd>
            <code className="breakable">{redirectUri}</code>{" "}
            <CopyButton text={redirectUri} label={t("sso.sp.copy", { what: t("sso.oidc.redirect_uri") })} />
          </dd>
        </div>
      </dl>
    </>
  );
}

/** An attempt's outcome and reason in plain words (clock skew with its seconds). */
export function Reason({ attempt }: { attempt: Attempt }) {
  const { t } = useTranslation(NS);
  const reason = attempt.reason || (attempt.outcome === "success" ? "signed_in" : "other");
  if (reason === "clock_skew" && attempt.skew_seconds !== null && attempt.skew_seconds !== undefined) {
    const seconds = Math.abs(attempt.skew_seconds);
    return <>{t(attempt.skew_seconds > 0 ? "sso.reason.clock_skew_ahead" : "sso.reason.clock_skew_late", { seconds })}</>;
  }
  return <>{t(`sso.reason.${reason}`, { defaultValue: t("sso.reason.other", { reason }) })}</>;
}

export function Outcome({ attempt }: { attempt: Attempt }) {
  const { t } = useTranslation(NS);
  const ok = attempt.outcome === "success";
  return <span className={ok ? "tag ok-tag" : "tag warn"}>{t(ok ? "sso.outcome.success" : "sso.outcome.failure")}</span>;
}

export function Certificates({ idp }: { idp: Idp }) {
  const { t, i18n } = useTranslation(NS);
  return (
    <ul className="plain">
      {idp.certificates.map((c, n) => (
        <li key={n}>
          <span className="breakable">{c.subject}</span> · {t("sso.cert.until", { date: day(c.not_after, i18n.language) })}{" "}
          {c.days_left < 0 ? (
            <strong className="tag warn">{t("sso.cert.expired", { count: -c.days_left })}</strong>
          ) : c.days_left <= CERT_WARNING_DAYS ? (
            <strong className="tag warn">{t("sso.cert.expires_soon", { count: c.days_left })}</strong>
          ) : (
            <span className="tag ok-tag">{t("sso.cert.valid", { count: c.days_left })}</span>
          )}
        </li>
      ))}
    </ul>
  );
}
