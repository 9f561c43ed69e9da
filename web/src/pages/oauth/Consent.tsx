// The OAuth consent page (the authorization endpoint, /oauth/authorize): an app asks to
// act for the signed-in person. It shows the app, the organisation and each scope in
// words, and sends the browser back to the app with a code or with the refusal. The
// query is the app's request, passed to the API unchanged (the server checks all of it).
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation } from "react-router";
import { api, ApiError, unwrap } from "../../api/client";
import { Loading, useMe } from "../../auth";
import { ErrorNote, Card } from "../../components/forms";

/** The scopes the API knows (accounts/service/api_keys.py SCOPES), each said in words. */
export const SCOPE_WORDS = ["users:read", "users:write", "invites:write", "feeds:read", "feeds:write", "audit:read"];

export function scopeKey(scope: string): string {
  return `oauth.scope.${scope.replace(":", "_")}`;
}

export function Consent() {
  const { t } = useTranslation();
  const { search } = useLocation();
  const me = useMe();
  const raw = search.startsWith("?") ? search.slice(1) : search;
  // The app's parameters, exactly as it sent them (repeats included: the server refuses those).
  const sameQuery = { querySerializer: () => raw };
  const check = useQuery({
    queryKey: ["oauth-authorize", raw],
    queryFn: () => unwrap(api.GET("/api/v1/oauth/authorize", sameQuery)),
    staleTime: Infinity,
  });
  const [leaving, setLeaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const answered = useRef(false);

  /** Sends the person's answer once; the browser then leaves for the app. */
  function send(approve: boolean): Promise<void> {
    answered.current = true;
    return unwrap(api.POST("/api/v1/oauth/authorize", { ...sameQuery, body: { approve } })).then(
      (out) => window.location.assign(out.redirect_to),
      (e: unknown) => {
        answered.current = false;
        setError(e);
      },
    );
  }

  function answer(approve: boolean) {
    if (answered.current) return;
    setError(null);
    setLeaving(true);
    void send(approve);
  }

  const prompt = check.data?.prompt;
  const refusedTo = check.data?.redirect_to;
  useEffect(() => {
    // A refusal the app must hear of goes straight back to it; so does a request the
    // person already allowed (the consent is remembered until revoked under Me).
    if (refusedTo) window.location.assign(refusedTo);
    else if (prompt?.remembered && !answered.current) void send(true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [refusedTo, prompt?.remembered]);

  if (check.error) {
    return (
      <Card title={t("oauth.refused_title")}>
        <ErrorNote error={check.error} />
        {check.error instanceof ApiError && check.error.status === 422 && (
          <p className="muted">
            <code className="consent-detail">{check.error.message}</code>
          </p>
        )}
        <p className="muted">{t("oauth.refused_text")}</p>
      </Card>
    );
  }
  if (!prompt || ((leaving || prompt.remembered) && !error)) {
    return (
      <Card title={t("oauth.title_waiting")}>
        {leaving || refusedTo || prompt?.remembered ? <p role="status">{t("oauth.returning")}</p> : <Loading />}
      </Card>
    );
  }
  const target = new URL(prompt.redirect_uri);
  return (
    <Card title={t("oauth.title", { app: prompt.client.name })}>
      <p>
        {t("oauth.intro", { app: prompt.client.name, org: prompt.org.name })}
      </p>
      <p className="muted">{t("oauth.signed_in_as", { who: me.data?.email ?? me.data?.username ?? "" })}</p>
      <h2 className="consent-heading">{t("oauth.may")}</h2>
      <ul className="consent-scopes">
        {prompt.scopes.map((s) => (
          <li key={s}>
            {t(scopeKey(s), { defaultValue: s })} <code>{s}</code>
          </li>
        ))}
      </ul>
      <p className="muted">{t("oauth.returns_to", { host: target.host })}</p>
      <ErrorNote error={error} />
      <div className="row consent-actions">
        <button type="button" className="primary" onClick={() => void answer(true)}>
          {t("oauth.allow")}
        </button>
        <button type="button" onClick={() => void answer(false)}>
          {t("oauth.deny")}
        </button>
      </div>
      <p className="muted">{t("oauth.revocable")}</p>
    </Card>
  );
}
