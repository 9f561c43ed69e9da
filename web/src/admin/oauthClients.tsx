// OAuth apps: an IT admin registers an app (a server that keeps a secret, or an app on a
// device or in a browser that proves itself with PKCE), its exact redirect URIs and the
// scopes it may ask for; the secret is shown once with a copy button (only its digest is
// stored). The list shows who uses each app and when; disabling one revokes every token
// it holds at once.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { SCOPE_WORDS } from "../pages/oauth/Consent";
import { CopyButton } from "./domains";
import { NS } from "./i18n";
import { AdminError, DataTable, when } from "./lib";

type Client = Schemas["OAuthClientOut"];
type Secret = { client: Client; secret: string | null };
const KEY = ["admin", "oauth-clients"];

export function OAuthClients() {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const clients = useQuery({ queryKey: KEY, queryFn: () => unwrap(api.GET("/api/v1/oauth/clients")) });
  const [shown, setShown] = useState<Secret | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");

  async function act(client: Client, action: "disable" | "enable" | "secret") {
    setError(null);
    setDone("");
    const path = { params: { path: { client_id: client.id } } };
    try {
      if (action === "secret") {
        const made = await unwrap(api.POST("/api/v1/oauth/clients/{client_id}/secret", path));
        setShown({ client, secret: made.client_secret });
      } else if (action === "disable") {
        await unwrap(api.POST("/api/v1/oauth/clients/{client_id}/disable", path));
        setDone(t("oauth_clients.disabled_now", { name: client.name }));
      } else {
        await unwrap(api.POST("/api/v1/oauth/clients/{client_id}/enable", path));
        setDone(t("oauth_clients.enabled_now", { name: client.name }));
      }
      await queryClient.invalidateQueries({ queryKey: KEY });
    } catch (e) {
      setError(e);
    }
  }

  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.oauth_clients.title")}</h1>
      </div>
      <p className="muted">{t("oauth_clients.intro")}</p>
      {shown ? (
        <section className="panel warn-note" aria-labelledby="client-made">
          <h2 id="client-made">{t("oauth_clients.created", { name: shown.client.name })}</h2>
          <dl className="facts">
            <dt>{t("oauth_clients.client_id")}</dt>
            <dd>
              <code className="breakable">{shown.client.client_id}</code>{" "}
              <CopyButton text={shown.client.client_id} label={t("oauth_clients.copy_id")} />
            </dd>
            {shown.secret && (
              <>
                <dt>{t("oauth_clients.secret")}</dt>
                <dd>
                  <code className="breakable" aria-label={t("oauth_clients.the_secret")}>
                    {shown.secret}
                  </code>{" "}
                  <CopyButton text={shown.secret} label={t("oauth_clients.copy_secret")} />
                </dd>
              </>
            )}
          </dl>
          <p>{shown.secret ? t("oauth_clients.once") : t("oauth_clients.public_note")}</p>
          <button type="button" onClick={() => setShown(null)}>
            {t("oauth_clients.done")}
          </button>
        </section>
      ) : (
        <NewClient onCreated={setShown} />
      )}
      <h2>{t("oauth_clients.list")}</h2>
      <AdminError error={error ?? clients.error} />
      {done && <p role="status">{done}</p>}
      {clients.isPending ? (
        <Loading />
      ) : !clients.data?.length ? (
        <p>{t("oauth_clients.none")}</p>
      ) : (
        <DataTable
          caption={t("oauth_clients.list")}
          rows={clients.data}
          rowKey={(c) => c.id}
          columns={[
            {
              header: t("oauth_clients.name"),
              cell: (c) => (
                <>
                  {c.name}
                  <br />
                  <code className="breakable muted">{c.client_id}</code>
                </>
              ),
            },
            { header: t("oauth_clients.kind"), cell: (c) => t(`oauth_clients.kinds.${c.kind}`) },
            { header: t("oauth_clients.scopes"), cell: (c) => c.scopes.join(", ") },
            {
              header: t("oauth_clients.redirect_uris"),
              cell: (c) =>
                c.redirect_uris.map((u) => (
                  <code key={u} className="breakable">
                    {u}
                    <br />
                  </code>
                )),
            },
            {
              header: t("oauth_clients.in_use"),
              cell: (c) => (
                <>
                  {t("oauth_clients.grants", { count: c.active_grants })}
                  <br />
                  {c.last_used_at ? when(c.last_used_at, i18n.language) : t("oauth_clients.unused")}
                </>
              ),
            },
            {
              header: t("oauth_clients.actions"),
              cell: (c) => (
                <>
                  {c.disabled ? (
                    <>
                      <span className="tag warn">{t("oauth_clients.disabled")}</span>{" "}
                      <button type="button" onClick={() => void act(c, "enable")} aria-label={t("oauth_clients.enable_named", { name: c.name })}>
                        {t("oauth_clients.enable")}
                      </button>
                    </>
                  ) : (
                    <button type="button" onClick={() => void act(c, "disable")} aria-label={t("oauth_clients.disable_named", { name: c.name })}>
                      {t("oauth_clients.disable")}
                    </button>
                  )}{" "}
                  {c.kind === "confidential" && (
                    <button type="button" onClick={() => void act(c, "secret")} aria-label={t("oauth_clients.new_secret_named", { name: c.name })}>
                      {t("oauth_clients.new_secret")}
                    </button>
                  )}
                </>
              ),
            },
          ]}
        />
      )}
    </>
  );
}

function NewClient({ onCreated }: { onCreated: (made: Secret) => void }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Client["kind"]>("confidential");
  const [uris, setUris] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const urisId = useId();
  async function create() {
    setBusy(true);
    setError(null);
    try {
      const redirect_uris = uris.split("\n").map((u) => u.trim()).filter(Boolean);
      const made = await unwrap(api.POST("/api/v1/oauth/clients", { body: { name, kind, scopes, redirect_uris } }));
      setName("");
      setUris("");
      setScopes([]);
      onCreated({ client: made.client, secret: made.client_secret ?? null });
      await queryClient.invalidateQueries({ queryKey: KEY });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="new-client">
      <h2 id="new-client">{t("oauth_clients.new")}</h2>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <Field label={t("oauth_clients.name")} value={name} onChange={setName} autoComplete="off" hint={t("oauth_clients.name_hint")} />
        <fieldset className="choices">
          <legend>{t("oauth_clients.kind")}</legend>
          {(["confidential", "public"] as const).map((k) => (
            <label key={k}>
              <input type="radio" name="kind" checked={kind === k} onChange={() => setKind(k)} /> {t(`oauth_clients.kinds.${k}`)} –{" "}
              {t(`oauth_clients.kind_hint.${k}`)}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={urisId}>{t("oauth_clients.redirect_uris")}</label>
          <textarea id={urisId} rows={3} value={uris} onChange={(e) => setUris(e.target.value)} aria-describedby={`${urisId}-hint`} />
          <p className="hint" id={`${urisId}-hint`}>
            {t("oauth_clients.redirect_hint")}
          </p>
        </div>
        <fieldset className="choices">
          <legend>{t("oauth_clients.scopes")}</legend>
          {SCOPE_WORDS.map((s) => (
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
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy || !scopes.length || !name.trim()}>
          {t("oauth_clients.create")}
        </button>
      </form>
    </section>
  );
}
