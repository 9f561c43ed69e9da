// The invitation link: who invites whom to which organisation; choose a name and a
// password (or continue with the organisation's single sign-on).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, ApiError, unwrap } from "../../api/client";
import { hasSso } from "../../auth";
import { problemText } from "../../components/errors";
import { Card, Field, Form, useFragment } from "../../components/forms";
import { useFinishSignIn } from "../auth/SignIn";
import { BadLink, NewPassword } from "./SetPassword";

export function Invite() {
  const { t } = useTranslation();
  const token = useFragment("token");
  const finish = useFinishSignIn();
  const [name, setName] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const invite = useQuery({
    queryKey: ["invite", token],
    queryFn: () =>
      unwrap(api.GET("/api/v1/public/invites/{token}", { params: { path: { token } } })),
    enabled: !!token,
    retry: false,
  });
  const sso = useQuery({
    queryKey: ["discover", invite.data?.email],
    queryFn: () =>
      unwrap(api.POST("/api/v1/auth/discover", { body: { email: invite.data!.email } })),
    enabled: !!invite.data,
  });
  if (!token) return <BadLink title={t("links.invite_title")} />;
  if (invite.isPending) return <Card title={t("links.invite_title")}>{t("common.loading")}</Card>;
  if (invite.error) {
    const err = invite.error;
    const expired = err instanceof ApiError && err.code === "invite_expired";
    return (
      <Card title={t("links.invite_title")}>
        <p role="alert" className="error">
          {problemText(t, err)}
        </p>
        <p>{expired ? t("links.ask_new_invite") : t("links.used_next")}</p>
        <Link to="/signin">{t("links.to_signin")}</Link>
      </Card>
    );
  }
  const data = invite.data;
  const org = sso.data?.orgs.find((o) => o.slug === data.org.slug);
  return (
    <Card title={t("links.invite_title")}>
      <p>
        {data.invited_by
          ? t("links.invite_from", { who: data.invited_by, org: data.org.name })
          : t("links.invite_to", { org: data.org.name })}
      </p>
      <p className="muted">{t("links.invite_address", { email: data.email })}</p>
      {hasSso(org?.methods) && (
        <a className="button" href={`/sso/${encodeURIComponent(data.org.slug)}/saml/login?next=%2Ffeed`}>
          {t("signin.sso", { name: data.org.name })}
        </a>
      )}
      <Form
        submit={t("links.join")}
        action={async () => {
          const out = await unwrap(
            api.POST("/api/v1/public/invites/{token}/accept", {
              params: { path: { token } },
              body: { display_name: name ?? data.display_name, password },
            }),
          );
          finish(out, "/feed");
        }}
      >
        <Field
          label={t("links.display_name")}
          value={name ?? data.display_name}
          onChange={setName}
          autoComplete="name"
          name="display-name"
        />
        <NewPassword value={password} onChange={setPassword} />
      </Form>
    </Card>
  );
}
