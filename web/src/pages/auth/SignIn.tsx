// Sign-in: find the organisation from the address (or type it), then password or SSO,
// then the second factor when the account has one.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { session } from "../../api/session";
import { hasSso, safeNext } from "../../auth";
import { Card, Field, Form } from "../../components/forms";
import { browserLanguage } from "../../i18n";

type Challenge = Schemas["MfaChallenge"];

export function useFinishSignIn() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  return (result: Schemas["TokenPair"] | Schemas["AcceptedOut"], next?: string) => {
    session.adopt(result);
    if ("user_id" in result) {
      // A new account keeps the language it joined in (its emails follow the profile).
      void api
        .PATCH("/api/v1/me", { body: { locale: browserLanguage() } })
        .then(() => queryClient.invalidateQueries({ queryKey: ["me"] }));
    }
    navigate(result.scope === "enrol" ? "/enrol" : safeNext(next ?? params.get("next")), {
      replace: true,
    });
  };
}

export function MfaStep({ challenge }: { challenge: Challenge }) {
  const { t } = useTranslation();
  const finish = useFinishSignIn();
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  return (
    <Form
      submit={t("signin.verify")}
      action={async () => {
        const pair = await unwrap(
          api.POST("/api/v1/auth/mfa", {
            body: { mfa_token: challenge.mfa_token, code: code.replace(/\s/g, "") },
          }),
        );
        finish(pair);
      }}
    >
      <p>{recovery ? t("signin.recovery_intro") : t("signin.mfa_intro")}</p>
      <Field
        label={recovery ? t("signin.recovery_code") : t("signin.mfa_code")}
        value={code}
        onChange={setCode}
        autoComplete="one-time-code"
        inputMode={recovery ? "text" : "numeric"}
        autoFocus
        name="code"
      />
      <button type="button" className="link" onClick={() => setRecovery(!recovery)}>
        {recovery ? t("signin.use_app_code") : t("signin.use_recovery")}
      </button>
    </Form>
  );
}

export function SignIn() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const finish = useFinishSignIn();
  const [login, setLogin] = useState("");
  const [org, setOrg] = useState(params.get("org") ?? "");
  const [orgs, setOrgs] = useState<Schemas["DiscoveredOrg"][] | null>(null);
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<Challenge | null>(null);

  if (challenge) {
    return (
      <Card title={t("signin.mfa_title")}>
        <MfaStep challenge={challenge} />
      </Card>
    );
  }

  if (orgs === null) {
    return (
      <Card title={t("signin.title")}>
        <Form
          submit={t("common.continue")}
          action={async () => {
            const found = login.includes("@")
              ? (await unwrap(api.POST("/api/v1/auth/discover", { body: { email: login } }))).orgs
              : [];
            setOrgs(found);
            if (found.length > 0 && !found.some((o) => o.slug === org)) setOrg(found[0]!.slug);
          }}
        >
          <Field
            label={t("signin.login")}
            value={login}
            onChange={setLogin}
            autoComplete="username"
            hint={t("signin.login_hint")}
            autoFocus
            name="login"
          />
        </Form>
        <nav className="aside-links" aria-label={t("signin.other_ways")}>
          <Link to="/redeem">{t("signin.have_code")}</Link>
          <Link to={`/forgot-password${org ? `?org=${encodeURIComponent(org)}` : ""}`}>
            {t("signin.forgot")}
          </Link>
        </nav>
      </Card>
    );
  }

  const chosen = orgs.find((o) => o.slug === org);
  const methods = chosen?.methods ?? ["password"];
  return (
    <Card title={t("signin.title")}>
      <p className="muted">
        {login}{" "}
        <button type="button" className="link" onClick={() => setOrgs(null)}>
          {t("signin.change")}
        </button>
      </p>
      {orgs.length > 1 && (
        <fieldset className="choices">
          <legend>{t("signin.choose_org")}</legend>
          {orgs.map((o) => (
            <label key={o.slug}>
              <input type="radio" name="org" checked={org === o.slug} onChange={() => setOrg(o.slug)} />{" "}
              {o.name}
            </label>
          ))}
        </fieldset>
      )}
      {orgs.length === 1 && chosen && <p>{t("signin.org_is", { name: chosen.name })}</p>}
      {hasSso(methods) && (
        <a
          className="button"
          href={`/sso/${encodeURIComponent(org)}/saml/login?next=${encodeURIComponent(safeNext(params.get("next")))}`}
        >
          {t("signin.sso", { name: chosen?.name ?? org })}
        </a>
      )}
      {methods.includes("password") && (
        <Form
          submit={t("signin.submit")}
          action={async () => {
            const result = await unwrap(
              api.POST("/api/v1/auth/login", { body: { org, login, password } }),
            );
            if ("mfa_required" in result) setChallenge(result);
            else finish(result);
          }}
        >
          {orgs.length === 0 && (
            <Field
              label={t("signin.org")}
              value={org}
              onChange={setOrg}
              hint={t("signin.org_hint")}
              autoComplete="organization"
              name="org"
            />
          )}
          <Field
            label={t("signin.password")}
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="current-password"
            autoFocus
            name="password"
          />
        </Form>
      )}
      <nav className="aside-links" aria-label={t("signin.other_ways")}>
        <Link to={`/forgot-password?org=${encodeURIComponent(org)}`}>{t("signin.forgot")}</Link>
      </nav>
    </Card>
  );
}
