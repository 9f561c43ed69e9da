// The owner's setup link and the password reset link: choose a password with the token
// from the link's fragment, then sign in.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { Card, Field, Form, useFragment } from "../../components/forms";

export function SetPassword({ kind }: { kind: "setup" | "reset" }) {
  const { t } = useTranslation();
  const token = useFragment("token");
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const title = kind === "setup" ? t("links.setup_title") : t("links.reset_title");
  if (!token) return <BadLink title={title} />;
  if (done) {
    return (
      <Card title={title}>
        <p role="status">{t("links.password_set")}</p>
        <Link className="button primary" to="/signin">
          {t("signin.submit")}
        </Link>
      </Card>
    );
  }
  return (
    <Card title={title}>
      <p>{kind === "setup" ? t("links.setup_intro") : t("links.reset_intro")}</p>
      <Form
        submit={t("links.set_password")}
        action={async () => {
          await unwrap(
            api.POST("/api/v1/auth/password-reset/confirm", { body: { token, password } }),
          );
          window.history.replaceState(null, "", window.location.pathname);
          setDone(true);
        }}
      >
        <NewPassword value={password} onChange={setPassword} />
      </Form>
    </Card>
  );
}

export function NewPassword(props: { value: string; onChange: (v: string) => void; label?: string }) {
  const { t } = useTranslation();
  return (
    <Field
      label={props.label ?? t("links.new_password")}
      type="password"
      value={props.value}
      onChange={props.onChange}
      autoComplete="new-password"
      minLength={10}
      hint={t("links.password_rules")}
      name="new-password"
    />
  );
}

export function BadLink({ title }: { title: string }) {
  const { t } = useTranslation();
  return (
    <Card title={title}>
      <p role="alert" className="error">
        {t("links.incomplete")}
      </p>
      <Link to="/signin">{t("links.to_signin")}</Link>
    </Card>
  );
}

export function ForgotPassword() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const [org, setOrg] = useState(params.get("org") ?? "");
  const [login, setLogin] = useState("");
  const [sent, setSent] = useState(false);
  return (
    <Card title={t("links.forgot_title")}>
      {sent ? (
        <p role="status">{t("links.forgot_sent")}</p>
      ) : (
        <Form
          submit={t("links.forgot_submit")}
          action={async () => {
            await unwrap(api.POST("/api/v1/auth/password-reset", { body: { org, login } }));
            setSent(true);
          }}
        >
          <Field label={t("signin.org")} value={org} onChange={setOrg} hint={t("signin.org_hint")} />
          <Field label={t("signin.login")} value={login} onChange={setLogin} autoComplete="username" />
        </Form>
      )}
      <Link to="/signin">{t("links.to_signin")}</Link>
    </Card>
  );
}
