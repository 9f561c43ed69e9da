// The test sign-in: a real SP-initiated login with the IdP in a new window, which signs
// nobody in. This window waits for the outcome (polling the API); the new one lands on
// the test page below, which shows the same outcome. For an OpenID Connect IdP the API's
// answer also sets the HttpOnly cookie binding the sign-in to this browser: the new
// window shares it and carries it back to the callback.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { useFragment } from "../components/forms";
import { NS } from "./i18n";
import { AdminError } from "./lib";
import { Reason, type Idp } from "./ssoShared";

function useTestResult(testId: string | undefined) {
  return useQuery({
    queryKey: ["admin", "sso-test", testId],
    enabled: !!testId,
    queryFn: () => unwrap(api.GET("/api/v1/sso/tests/{test_id}", { params: { path: { test_id: testId! } } })),
    refetchInterval: (query) => (query.state.data?.status === "waiting" ? 1_000 : false),
  });
}

function Result({ result }: { result: Schemas["SsoTestResultOut"] }) {
  const { t } = useTranslation(NS);
  if (result.status === "waiting") return <p role="status">{t("sso.test.waiting")}</p>;
  if (result.status === "expired" || !result.attempt) return <p role="alert">{t("sso.test.expired")}</p>;
  const attempt = result.attempt;
  if (attempt.outcome === "success") {
    return (
      <div className="ok-note" role="status">
        <p>
          <strong>{t("sso.test.succeeded")}</strong> <Reason attempt={attempt} />
        </p>
        {attempt.name_id && <p className="muted">{t("sso.test.name_id", { name_id: attempt.name_id })}</p>}
      </div>
    );
  }
  return (
    <div className="warn-note" role="alert">
      <p>
        <strong>{t("sso.test.failed")}</strong> <Reason attempt={attempt} />
      </p>
      <Link to={`/admin/sso/doctor#idp-${result.idp_id}`}>{t("sso.test.see_doctor")}</Link>
    </div>
  );
}

export function TestSignIn({ idp }: { idp: Idp }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [testId, setTestId] = useState<string>();
  const [error, setError] = useState<unknown>(null);
  const [blocked, setBlocked] = useState(false);
  const result = useTestResult(testId);
  const done = result.data?.status === "done";
  useEffect(() => {
    // The attempt is in the doctor now, and its attributes feed the mapping's preview.
    if (done) void queryClient.invalidateQueries({ queryKey: ["admin", "sso"] });
  }, [done, queryClient]);
  async function start() {
    setError(null);
    setBlocked(false);
    setTestId(undefined);
    // Opened at the click (a window opened after a request would be blocked), without a
    // way back to this one: the IdP's pages must not reach the console's window.
    const popup = window.open("", "_blank");
    if (!popup) {
      setBlocked(true);
      return;
    }
    popup.opener = null;
    try {
      const test = await unwrap(api.POST("/api/v1/sso/idps/{idp_id}/test", { params: { path: { idp_id: idp.id } } }));
      popup.location.href = test.redirect_url;
      setTestId(test.test_id);
    } catch (e) {
      popup.close();
      setError(e);
    }
  }
  return (
    <section className="panel" aria-labelledby="sso-test">
      <h2 id="sso-test">{t("sso.test.title")}</h2>
      <p>{t("sso.test.intro")}</p>
      <button type="button" className="primary" onClick={() => void start()}>
        {t("sso.test.start")}
      </button>
      {blocked && (
        <p className="error" role="alert">
          {t("sso.test.blocked")}
        </p>
      )}
      <AdminError error={error ?? result.error} />
      {result.data && <Result result={result.data} />}
    </section>
  );
}

/** Where the test's window lands from the IdP (via our ACS): the outcome, then close it. */
export function SsoTestPage() {
  const { t } = useTranslation(NS);
  const testId = useFragment("test");
  const result = useTestResult(testId || undefined);
  return (
    <section className="panel narrow-admin" aria-labelledby="sso-test-page">
      <h1 id="sso-test-page">{t("sso.test.title")}</h1>
      <AdminError error={result.error} />
      {result.data && <Result result={result.data} />}
      <p className="muted">{t("sso.test.close")}</p>
    </section>
  );
}
