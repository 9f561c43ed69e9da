// API keys for integrations: create one with scopes and an expiry (the key is shown once,
// with a copy button: only its digest is stored), the list with last use, revoke.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { CopyButton } from "./domains";
import { NS } from "./i18n";
import { AdminError, DataTable, when } from "./lib";

// The API's scopes (accounts/service/api_keys.py SCOPES), each explained in words.
const SCOPES = ["users:read", "users:write", "invites:write", "feeds:read", "feeds:write", "audit:read"] as const;
const EXPIRY = ["30", "90", "365", "730", "never"] as const;

export function ApiKeys() {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["admin", "api-keys"], queryFn: () => unwrap(api.GET("/api/v1/api-keys")) });
  const [created, setCreated] = useState<Schemas["ApiKeyCreated"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  async function revoke(key: Schemas["ApiKeyOut"]) {
    setError(null);
    setDone("");
    try {
      await unwrap(api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: key.id } } }));
      setDone(t("api_keys.revoked_now", { name: key.name }));
      await queryClient.invalidateQueries({ queryKey: ["admin", "api-keys"] });
    } catch (e) {
      setError(e);
    }
  }
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.api_keys.title")}</h1>
      </div>
      <p className="muted">{t("api_keys.intro")}</p>
      {created ? (
        <section className="panel warn-note" aria-labelledby="key-made">
          <h2 id="key-made">{t("api_keys.created", { name: created.api_key.name })}</h2>
          <p>{t("api_keys.once")}</p>
          <p>
            <code className="breakable" aria-label={t("api_keys.the_key")}>
              {created.key}
            </code>{" "}
            <CopyButton text={created.key} label={t("api_keys.copy")} />
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            {t("api_keys.done")}
          </button>
        </section>
      ) : (
        <NewKey onCreated={setCreated} />
      )}
      <h2>{t("api_keys.list")}</h2>
      <AdminError error={error ?? keys.error} />
      {done && <p role="status">{done}</p>}
      {keys.isPending ? (
        <Loading />
      ) : !keys.data?.length ? (
        <p>{t("api_keys.none")}</p>
      ) : (
        <DataTable
          caption={t("api_keys.list")}
          rows={keys.data}
          rowKey={(k) => k.id}
          columns={[
            { header: t("api_keys.name"), cell: (k) => k.name },
            { header: t("api_keys.prefix"), cell: (k) => <code>{k.prefix}…</code> },
            { header: t("api_keys.scopes"), cell: (k) => k.scopes.join(", ") },
            { header: t("api_keys.expires"), cell: (k) => (k.expires_at ? when(k.expires_at, i18n.language) : t("api_keys.never")) },
            { header: t("api_keys.last_used"), cell: (k) => (k.last_used_at ? when(k.last_used_at, i18n.language) : t("api_keys.unused")) },
            {
              header: t("api_keys.actions"),
              cell: (k) =>
                k.revoked ? (
                  <span className="tag warn">{t("api_keys.revoked")}</span>
                ) : (
                  <button type="button" onClick={() => void revoke(k)} aria-label={t("api_keys.revoke_named", { name: k.name })}>
                    {t("api_keys.revoke")}
                  </button>
                ),
            },
          ]}
        />
      )}
    </>
  );
}

function NewKey({ onCreated }: { onCreated: (created: Schemas["ApiKeyCreated"]) => void }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [expiry, setExpiry] = useState<(typeof EXPIRY)[number]>("365");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const expiryId = useId();
  async function create() {
    setBusy(true);
    setError(null);
    try {
      const made = await unwrap(
        api.POST("/api/v1/api-keys", {
          body: { name, scopes, expires_in_days: expiry === "never" ? null : Number(expiry) },
        }),
      );
      setName("");
      setScopes([]);
      onCreated(made);
      await queryClient.invalidateQueries({ queryKey: ["admin", "api-keys"] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="new-key">
      <h2 id="new-key">{t("api_keys.new")}</h2>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <Field label={t("api_keys.name")} value={name} onChange={setName} autoComplete="off" hint={t("api_keys.name_hint")} />
        <fieldset className="choices">
          <legend>{t("api_keys.scopes")}</legend>
          {SCOPES.map((s) => (
            <label key={s}>
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />{" "}
              <code>{s}</code> – {t(`api_keys.scope.${s.replace(":", "_")}`)}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={expiryId}>{t("api_keys.expiry")}</label>
          <select id={expiryId} value={expiry} onChange={(e) => setExpiry(e.target.value as (typeof EXPIRY)[number])}>
            {EXPIRY.map((x) => (
              <option key={x} value={x}>
                {x === "never" ? t("api_keys.never_expires") : t("api_keys.days", { count: Number(x) })}
              </option>
            ))}
          </select>
        </div>
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy || !scopes.length}>
          {t("api_keys.create")}
        </button>
      </form>
    </section>
  );
}
