// The SSO set-up wizard's first steps: pick the protocol (SAML or OpenID Connect) and the
// IdP's kind (a preset of attribute names and hints), give the IdP our service provider's
// values (SAML) or our redirect URI (OIDC), then connect it: SAML from its metadata
// (pasted or by URL) or typed fields, OIDC by its issuer and the client it issued. The IdP is added turned off; its page then
// takes the wizard on: attributes and groups, a test sign-in, turning it on.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError } from "./lib";
import { OidcConnect } from "./ssoWizardOidc";
import { OIDC_PRESETS, OidcValues, PRESETS, PROTOCOLS, SpValues, useSsoSettings, type Preset, type Protocol } from "./ssoShared";

const SOURCES = ["xml", "url", "fields"] as const;
type Source = (typeof SOURCES)[number];

export function SsoNew() {
  const { t } = useTranslation(NS);
  const settings = useSsoSettings();
  const [preset, setPreset] = useState<Preset>("entra");
  const [protocol, setProtocol] = useState<Protocol>("saml");
  const presets: readonly Preset[] = protocol === "oidc" ? OIDC_PRESETS : PRESETS;
  function choose(p: Protocol) {
    setProtocol(p);
    if (p === "oidc" && preset === "adfs") setPreset("entra");
  }
  return (
    <>
      <h1>{t("sso.wizard.title")}</h1>
      <p className="muted">{t("sso.wizard.intro")}</p>
      <section className="panel" aria-labelledby="step-kind">
        <h2 id="step-kind">{t("sso.wizard.step_kind")}</h2>
        <fieldset className="choices">
          <legend>{t("sso.wizard.protocol")}</legend>
          {PROTOCOLS.map((p) => (
            <label key={p}>
              <input type="radio" name="protocol" checked={protocol === p} onChange={() => choose(p)} /> {t(`sso.protocol.${p}`)}
            </label>
          ))}
        </fieldset>
        <fieldset className="choices">
          <legend className="sr-only">{t("sso.wizard.step_kind")}</legend>
          {presets.map((p) => (
            <label key={p}>
              <input type="radio" name="preset" checked={preset === p} onChange={() => setPreset(p)} />{" "}
              {t(protocol === "oidc" ? `sso.oidc.preset.${p}` : `sso.preset.${p}`)}
            </label>
          ))}
        </fieldset>
      </section>
      <section className="panel" aria-labelledby="step-sp">
        <h2 id="step-sp">{t("sso.wizard.step_sp")}</h2>
        {!settings.data ? (
          <Loading />
        ) : protocol === "oidc" ? (
          <OidcValues redirectUri={settings.data.oidc_redirect_uri} preset={preset} />
        ) : (
          <SpValues sp={settings.data} preset={preset} />
        )}
      </section>
      {protocol === "oidc" ? <OidcConnect key={preset} preset={preset} /> : <Connect preset={preset} />}
    </>
  );
}

function Connect({ preset }: { preset: Preset }) {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [source, setSource] = useState<Source>("xml");
  const [name, setName] = useState("");
  const [xml, setXml] = useState("");
  const [url, setUrl] = useState("");
  const [fields, setFields] = useState({ entity_id: "", sso_url: "", slo_url: "", certificate: "" });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = { xml: useId(), cert: useId() };
  const label = name.trim() || t(`sso.preset.${preset}`);
  async function create(): Promise<Schemas["IdpOut"]> {
    // Added turned off: nobody sees it at sign-in before it was tested and turned on.
    if (source === "xml") {
      return unwrap(
        api.POST("/api/v1/sso/idps/metadata", {
          params: { query: { name: label, preset, enabled: false } },
          body: xml as never,
          bodySerializer: (body: unknown) => body as string,
          headers: { "content-type": "application/samlmetadata+xml" },
        }),
      );
    }
    if (source === "url") {
      return unwrap(api.POST("/api/v1/sso/idps/metadata-url", { body: { url, name: label, preset, enabled: false } }));
    }
    return unwrap(
      api.POST("/api/v1/sso/idps", {
        body: {
          name: label,
          preset,
          entity_id: fields.entity_id,
          sso_url: fields.sso_url,
          slo_url: fields.slo_url,
          certificates: [fields.certificate],
          enabled: false,
        },
      }),
    );
  }
  async function submit() {
    setBusy(true);
    setError(null);
    try {
      const idp = await create();
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
      <div className="tabs" role="group" aria-label={t("sso.wizard.source")}>
        {SOURCES.map((s) => (
          <button key={s} type="button" aria-pressed={source === s} onClick={() => setSource(s)}>
            {t(`sso.wizard.source_${s}`)}
          </button>
        ))}
      </div>
      <form
        className="form narrow-admin"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Field label={t("sso.name")} value={name} onChange={setName} required={false} hint={t("sso.name_hint", { name: t(`sso.preset.${preset}`) })} autoComplete="off" />
        {source === "xml" && (
          <div className="field">
            <label htmlFor={ids.xml}>{t("sso.wizard.xml")}</label>
            <textarea id={ids.xml} rows={8} value={xml} onChange={(e) => setXml(e.target.value)} required spellCheck={false} />
          </div>
        )}
        {source === "url" && (
          <Field label={t("sso.wizard.url")} type="url" value={url} onChange={setUrl} hint={t("sso.wizard.url_hint")} autoComplete="off" />
        )}
        {source === "fields" && (
          <>
            <Field label={t("sso.entity_id")} value={fields.entity_id} onChange={(v) => setFields({ ...fields, entity_id: v })} autoComplete="off" />
            <Field label={t("sso.sso_url")} type="url" value={fields.sso_url} onChange={(v) => setFields({ ...fields, sso_url: v })} autoComplete="off" />
            <Field label={t("sso.slo_url")} type="url" value={fields.slo_url} onChange={(v) => setFields({ ...fields, slo_url: v })} required={false} autoComplete="off" />
            <div className="field">
              <label htmlFor={ids.cert}>{t("sso.certificate")}</label>
              <textarea
                id={ids.cert}
                rows={6}
                value={fields.certificate}
                onChange={(e) => setFields({ ...fields, certificate: e.target.value })}
                required
                spellCheck={false}
              />
            </div>
          </>
        )}
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t("sso.wizard.connect")}
        </button>
      </form>
    </section>
  );
}
