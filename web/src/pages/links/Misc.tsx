// The address-change confirmation, the SSO landing pages and the signed-out page.
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { problemText } from "../../components/errors";
import { Card, useFragment } from "../../components/forms";
import { MfaStep, useFinishSignIn } from "../auth/SignIn";

/** Runs a one-time link's action once (React may mount twice in development). */
function useOnce<T>(work: () => Promise<T>) {
  const started = useRef(false);
  const [state, setState] = useState<{ done?: T; error?: unknown }>({});
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    work().then(
      (done) => setState({ done }),
      (error: unknown) => setState({ error }),
    );
  }, [work]);
  return state;
}

export function ConfirmEmail() {
  const { t } = useTranslation();
  const token = useFragment("token");
  const [work] = useState(() => () =>
    unwrap(api.POST("/api/v1/auth/email-change/confirm", { body: { token } })),
  );
  const state = useOnce(work);
  return (
    <Card title={t("links.email_title")}>
      {state.error ? (
        <p role="alert" className="error">
          {problemText(t, state.error)}
        </p>
      ) : state.done !== undefined ? (
        <p role="status">{t("links.email_done")}</p>
      ) : (
        <p role="status">{t("common.loading")}</p>
      )}
      <Link to="/me">{t("links.to_profile")}</Link>
    </Card>
  );
}

export function SsoCallback() {
  const { t } = useTranslation();
  const finish = useFinishSignIn();
  const code = useFragment("code");
  const next = useFragment("next");
  const [work] = useState(() => () =>
    unwrap(api.POST("/api/v1/auth/sso/exchange", { body: { code } })),
  );
  const state = useOnce<Schemas["TokenPair"] | Schemas["MfaChallenge"]>(work);
  const result = state.done;
  useEffect(() => {
    if (result && !("mfa_required" in result)) finish(result, next || "/feed");
  }, [result, finish, next]);
  if (result && "mfa_required" in result) {
    return (
      <Card title={t("signin.mfa_title")}>
        <MfaStep challenge={result} />
      </Card>
    );
  }
  return (
    <Card title={t("links.sso_title")}>
      {state.error ? (
        <>
          <p role="alert" className="error">
            {problemText(t, state.error)}
          </p>
          <Link to="/signin">{t("links.to_signin")}</Link>
        </>
      ) : (
        <p role="status">{t("common.loading")}</p>
      )}
    </Card>
  );
}

export function SsoError() {
  const { t } = useTranslation();
  const reason = useFragment("reason");
  return (
    <Card title={t("links.sso_failed")}>
      <p role="alert" className="error">
        {t(`sso_reasons.${reason}`, { defaultValue: t("sso_reasons.other") })}
      </p>
      <Link to="/signin">{t("links.to_signin")}</Link>
    </Card>
  );
}

export function SignedOut() {
  const { t } = useTranslation();
  return (
    <Card title={t("links.signed_out")}>
      <p role="status">{t("links.signed_out_text")}</p>
      <Link className="button primary" to="/signin">
        {t("signin.submit")}
      </Link>
    </Card>
  );
}

export function NotFound() {
  const { t } = useTranslation();
  return (
    <Card title={t("errors.page_not_found")}>
      <p>{t("errors.page_not_found_text")}</p>
      <Link to="/feed">{t("nav.feed")}</Link>
    </Card>
  );
}
