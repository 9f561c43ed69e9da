// Self sign-up: ask for a link with a company address (/join), and finish with it (/signup).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { problemText } from "../../components/errors";
import { Card, Field, Form, useFragment } from "../../components/forms";
import { useFinishSignIn } from "../auth/SignIn";
import { BadLink, NewPassword } from "./SetPassword";

export function Join() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const [org, setOrg] = useState(params.get("org") ?? "");
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  return (
    <Card title={t("links.join_title")}>
      {sent ? (
        <p role="status">{t("links.join_sent", { email })}</p>
      ) : (
        <Form
          submit={t("links.join_submit")}
          action={async () => {
            await unwrap(api.POST("/api/v1/public/signup", { body: { org, email } }));
            setSent(true);
          }}
        >
          <Field label={t("signin.org")} value={org} onChange={setOrg} hint={t("signin.org_hint")} />
          <Field label={t("links.work_email")} type="email" value={email} onChange={setEmail} autoComplete="email" />
        </Form>
      )}
      <Link to="/signin">{t("links.to_signin")}</Link>
    </Card>
  );
}

export function Signup() {
  const { t } = useTranslation();
  const token = useFragment("token");
  const finish = useFinishSignIn();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const preview = useQuery({
    queryKey: ["signup", token],
    queryFn: () => unwrap(api.POST("/api/v1/public/signup/preview", { body: { token } })),
    enabled: !!token,
    retry: false,
  });
  if (!token) return <BadLink title={t("links.signup_title")} />;
  if (preview.isPending) return <Card title={t("links.signup_title")}>{t("common.loading")}</Card>;
  if (preview.error) {
    return (
      <Card title={t("links.signup_title")}>
        <p role="alert" className="error">
          {problemText(t, preview.error)}
        </p>
        <Link to="/join">{t("links.ask_new_signup")}</Link>
      </Card>
    );
  }
  return (
    <Card title={t("links.signup_title")}>
      <p>{t("links.invite_to", { org: preview.data.org.name })}</p>
      <p className="muted">{t("links.invite_address", { email: preview.data.email })}</p>
      <Form
        submit={t("links.join")}
        action={async () => {
          const out = await unwrap(
            api.POST("/api/v1/public/signup/complete", {
              body: { token, display_name: name, password },
            }),
          );
          finish(out, "/feed");
        }}
      >
        <Field label={t("links.display_name")} value={name} onChange={setName} autoComplete="name" />
        <NewPassword value={password} onChange={setPassword} />
      </Form>
    </Card>
  );
}
