// Single sign-on: the org's identity providers (each with its certificates and a way to
// its settings and the doctor), our service provider's values, and enforcement: SSO
// required, with the owners who may still use their password (break-glass).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { AdminError } from "./lib";
import { Certificates, SpValues, useSsoSettings } from "./ssoShared";

export function Sso() {
  const { t } = useTranslation(NS);
  const settings = useSsoSettings();
  const data = settings.data;
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.sso.title")}</h1>
        <div className="row">
          <Link className="button primary" to="/admin/sso/new">
            {t("sso.add")}
          </Link>
          <Link className="button" to="/admin/sso/doctor">
            {t("sso.doctor.title")}
          </Link>
        </div>
      </div>
      <p className="muted">{t("sso.intro")}</p>
      <AdminError error={settings.error} />
      {!data ? (
        <Loading />
      ) : (
        <>
          <h2>{t("sso.idps")}</h2>
          {data.idps.length === 0 && <p>{t("sso.none")}</p>}
          {data.idps.map((idp) => (
            <section key={idp.id} className="panel" aria-labelledby={`idp-${idp.id}`}>
              <div className="admin-title">
                <h3 id={`idp-${idp.id}`}>{idp.name}</h3>
                <span className={idp.enabled ? "tag ok-tag" : "tag warn"}>{t(idp.enabled ? "sso.on" : "sso.off")}</span>
              </div>
              <p className="muted">
                {t(`sso.preset.${idp.preset}`)} · <span className="breakable">{idp.entity_id}</span>
              </p>
              <Certificates idp={idp} />
              <div className="row">
                <Link to={`/admin/sso/idps/${idp.id}`} aria-label={t("sso.settings_of", { name: idp.name })}>
                  {t("sso.settings")}
                </Link>
                <Link to={`/admin/sso/doctor#idp-${idp.id}`} aria-label={t("sso.doctor_of", { name: idp.name })}>
                  {t("sso.doctor.title")}
                </Link>
              </div>
            </section>
          ))}
          <details className="panel">
            <summary>{t("sso.sp.title")}</summary>
            <SpValues sp={data} preset="generic" />
          </details>
          <Enforcement settings={data} />
        </>
      )}
    </>
  );
}

function Enforcement({ settings }: { settings: Schemas["SsoSettingsOut"] }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [required, setRequired] = useState(settings.sso_required);
  const [glass, setGlass] = useState<string[]>(settings.break_glass_user_ids);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const owners = useQuery({
    queryKey: ["admin", "owners"],
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { role: "owner", status: "active", limit: 50 } } })),
  });
  async function save() {
    setError(null);
    setSaved(false);
    try {
      await unwrap(api.PUT("/api/v1/sso/saml", { body: { sso_required: required, break_glass_user_ids: glass } }));
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ["admin", "sso"] });
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="sso-enforce">
      <h2 id="sso-enforce">{t("sso.enforce.title")}</h2>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label className="check">
          <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} /> {t("sso.enforce.required")}
        </label>
        <p className="hint">{t("sso.enforce.required_hint")}</p>
        <fieldset className="choices">
          <legend>{t("sso.enforce.break_glass")}</legend>
          <p className="hint">{t("sso.enforce.break_glass_hint")}</p>
          {owners.data?.items.map((o) => (
            <label key={o.id}>
              <input
                type="checkbox"
                checked={glass.includes(o.id)}
                onChange={(e) => setGlass(e.target.checked ? [...glass, o.id] : glass.filter((id) => id !== o.id))}
              />{" "}
              {o.display_name} ({o.email ?? o.username})
            </label>
          ))}
        </fieldset>
        <AdminError error={error} />
        {saved && <p role="status">{t("common.saved")}</p>}
        <button type="submit" className="primary">
          {t("sso.enforce.save")}
        </button>
      </form>
    </section>
  );
}
