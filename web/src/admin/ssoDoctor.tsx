// The SSO doctor: per identity provider its certificates (flagged 30 days before expiry)
// and its last sign-in attempts, each with the outcome and the reason in plain words and
// the attributes received against the mapping; unsigned posts naming it counted apart
// (anyone can send those); attempts whose issuer is no IdP of the org.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation } from "react-router";
import { api, unwrap } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { AdminError, DataTable, when } from "./lib";
import { Certificates, FIELDS, Outcome, Reason, useSsoSettings, type Attempt, type Idp } from "./ssoShared";

const REFRESH_MS = 5_000;
const SHOWN = 10;

export function SsoDoctor() {
  const { t } = useTranslation(NS);
  const settings = useSsoSettings();
  const { hash } = useLocation();
  const ready = !!settings.data;
  useEffect(() => {
    // A link to one IdP's part (#idp-…) scrolls there once the page is drawn.
    if (ready && hash) document.getElementById(hash.slice(1))?.scrollIntoView();
  }, [ready, hash]);
  return (
    <>
      <div className="admin-title">
        <h1>{t("sso.doctor.title")}</h1>
        <Link to="/admin/sso">{t("sso.back")}</Link>
      </div>
      <p className="muted">{t("sso.doctor.intro")}</p>
      <AdminError error={settings.error} />
      {!settings.data ? (
        <Loading />
      ) : (
        <>
          {settings.data.idps.length === 0 && <p>{t("sso.none")}</p>}
          {settings.data.idps.map((idp) => (
            <IdpDoctor key={idp.id} idp={idp} />
          ))}
          <Unknown />
        </>
      )}
    </>
  );
}

function IdpDoctor({ idp }: { idp: Idp }) {
  const { t } = useTranslation(NS);
  const [unsigned, setUnsigned] = useState(false);
  const attempts = useQuery({
    queryKey: ["admin", "sso", "attempts", idp.id, unsigned],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/sso/idps/{idp_id}/attempts", {
          params: { path: { idp_id: idp.id }, query: { unsigned } },
        }),
      ),
    refetchInterval: REFRESH_MS,
  });
  const count = attempts.data?.unsigned_count ?? 0;
  return (
    <section className="panel" id={`idp-${idp.id}`} aria-labelledby={`doctor-${idp.id}`}>
      <div className="admin-title">
        <h2 id={`doctor-${idp.id}`}>{idp.name}</h2>
        <span className={idp.enabled ? "tag ok-tag" : "tag warn"}>{t(idp.enabled ? "sso.on" : "sso.off")}</span>
      </div>
      <h3>{t("sso.cert.title")}</h3>
      <Certificates idp={idp} />
      <h3>{t(unsigned ? "sso.doctor.unsigned_title" : "sso.doctor.attempts")}</h3>
      {unsigned && <p className="muted">{t("sso.doctor.unsigned_hint")}</p>}
      <AdminError error={attempts.error} />
      {attempts.data ? <Attempts items={attempts.data.items} label={`${idp.name}: ${t("sso.doctor.attempts")}`} /> : <Loading />}
      {(count > 0 || unsigned) && (
        <button type="button" onClick={() => setUnsigned(!unsigned)}>
          {unsigned ? t("sso.doctor.show_signed") : t("sso.doctor.show_unsigned", { count })}
        </button>
      )}
    </section>
  );
}

function Unknown() {
  const { t } = useTranslation(NS);
  const attempts = useQuery({
    queryKey: ["admin", "sso", "attempts", "unknown"],
    queryFn: () => unwrap(api.GET("/api/v1/sso/attempts/unknown-issuer")),
    refetchInterval: REFRESH_MS,
  });
  return (
    <section className="panel" aria-labelledby="doctor-unknown">
      <h2 id="doctor-unknown">{t("sso.doctor.unknown_title")}</h2>
      <p className="muted">{t("sso.doctor.unknown_hint")}</p>
      <AdminError error={attempts.error} />
      {attempts.data ? <Attempts items={attempts.data.items} label={t("sso.doctor.unknown_title")} /> : <Loading />}
    </section>
  );
}

function Attempts({ items, label }: { items: Attempt[]; label: string }) {
  const { t, i18n } = useTranslation(NS);
  const [all, setAll] = useState(false);
  if (!items.length) return <p>{t("sso.doctor.none")}</p>;
  const rows = all ? items : items.slice(0, SHOWN);
  return (
    <>
      <DataTable
        caption={label}
        rows={rows}
        rowKey={(a) => a.id}
        rowClassName={(a) => (a.outcome === "success" ? undefined : "problem")}
        rowHeader={false}
        columns={[
          { header: t("sso.doctor.when"), cell: (a) => when(a.created_at, i18n.language) },
          {
            header: t("sso.doctor.outcome"),
            cell: (a) => (
              <>
                <Outcome attempt={a} /> {a.test_id && <span className="tag">{t("sso.doctor.test")}</span>}{" "}
                {a.signed === false && <span className="tag warn">{t("sso.doctor.unsigned")}</span>}
              </>
            ),
          },
          {
            header: t("sso.doctor.reason"),
            cell: (a) => (
              <>
                <Reason attempt={a} />
                <Details attempt={a} />
              </>
            ),
          },
          { header: t("sso.doctor.who"), className: "breakable", cell: (a) => a.name_id || "–" },
        ]}
      />
      {items.length > SHOWN && (
        <button type="button" onClick={() => setAll(!all)}>
          {all ? t("sso.doctor.fewer") : t("sso.doctor.all", { count: items.length })}
        </button>
      )}
    </>
  );
}

/** The attributes received against the mapping (and the technical detail). */
function Details({ attempt }: { attempt: Attempt }) {
  const { t } = useTranslation(NS);
  const received = Object.keys(attempt.attributes);
  const used = new Set<string>();
  const mapped = FIELDS.filter((f) => attempt.expected[f]).map((field) => {
    const name = attempt.expected[field]!.find((n) => attempt.attributes[n]?.length);
    if (name) used.add(name);
    return { field, name, values: name ? attempt.attributes[name]! : [] };
  });
  const other = received.filter((n) => !used.has(n));
  return (
    <details>
      <summary>{t("sso.doctor.details")}</summary>
      {received.length > 0 && mapped.length > 0 && (
        <dl className="facts">
          {mapped.map((m) => (
            <div key={m.field} className="fact-row">
              <dt>{t(`sso.field.${m.field}`)}</dt>
              <dd className="breakable">
                {m.name ? (
                  <>
                    {m.values.join(", ")} <small className="muted">({m.name})</small>
                  </>
                ) : (
                  // Only the address is needed to sign someone in; the rest is optional.
                  <span className={m.field === "email" ? "error" : "muted"}>
                    {t("sso.doctor.missing", { names: attempt.expected[m.field]!.join(", ") })}
                  </span>
                )}
              </dd>
            </div>
          ))}
        </dl>
      )}
      {other.length > 0 && <p className="breakable">{t("sso.doctor.other_attributes", { names: other.join(", ") })}</p>}
      {received.length === 0 && <p className="muted">{t("sso.doctor.no_attributes")}</p>}
      {attempt.detail && (
        <p className="breakable">
          <small>{attempt.detail}</small>
        </p>
      )}
    </details>
  );
}
