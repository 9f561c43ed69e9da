// A printed access code: typed here, or filled in from the card's QR code
// (`/redeem?org=…#code=…`). Frontline staff choose a username, since they may have no email.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { Card, Field, Form } from "../../components/forms";
import { useFinishSignIn } from "../auth/SignIn";
import { NewPassword } from "./SetPassword";

// Mistyped codes slow down this device only, not colleagues behind the same address. A
// browser has no installation to name, so the id lives as long as the page.
const DEVICE_ID = crypto.randomUUID();

export function Redeem() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const finish = useFinishSignIn();
  const [org, setOrg] = useState(params.get("org") ?? "");
  const [code, setCode] = useState(
    () => new URLSearchParams(window.location.hash.slice(1)).get("code") ?? "",
  );
  const [username, setUsername] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  return (
    <Card title={t("links.redeem_title")}>
      <p>{t("links.redeem_intro")}</p>
      <Form
        submit={t("links.join")}
        action={async () => {
          const out = await unwrap(
            api.POST("/api/v1/public/access-codes/redeem", {
              body: { org, code, username, display_name: name, password, device_id: DEVICE_ID },
            }),
          );
          window.history.replaceState(null, "", window.location.pathname);
          finish(out, "/feed");
        }}
      >
        <Field label={t("signin.org")} value={org} onChange={setOrg} hint={t("signin.org_hint")} name="org" />
        <Field
          label={t("links.code")}
          value={code}
          onChange={setCode}
          hint={t("links.code_hint")}
          autoComplete="off"
          name="code"
        />
        <Field label={t("links.username")} value={username} onChange={setUsername} autoComplete="username" name="username" />
        <Field label={t("links.display_name")} value={name} onChange={setName} autoComplete="name" name="display-name" />
        <NewPassword value={password} onChange={setPassword} />
      </Form>
      <Link to="/signin">{t("links.to_signin")}</Link>
    </Card>
  );
}
