// Two-factor authentication: enrol (QR code and copyable secret, confirmed with a code),
// the ten recovery codes shown once with a download, new codes, and switching it off.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { refresh } from "../../api/session";
import { useMe } from "../../auth";
import { Field, Form } from "../../components/forms";

export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone?: () => void }) {
  const { t } = useTranslation();
  const file = URL.createObjectURL(new Blob([codes.join("\n") + "\n"], { type: "text/plain" }));
  return (
    <div className="recovery" role="region" aria-labelledby="recovery-title">
      <h3 id="recovery-title">{t("mfa.recovery_title")}</h3>
      <p>{t("mfa.recovery_intro")}</p>
      <ul className="codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <p className="row">
        <a className="button" href={file} download="staffroom-recovery-codes.txt">
          {t("mfa.download")}
        </a>
        {onDone && (
          <button type="button" className="primary" onClick={onDone}>
            {t("mfa.saved_them")}
          </button>
        )}
      </p>
    </div>
  );
}

export function Enrol({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [setup, setSetup] = useState<Schemas["TotpSetupOut"] | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  if (codes) {
    return (
      <RecoveryCodes
        codes={codes}
        onDone={async () => {
          // The session may now read everything (an enrolment-only one becomes full).
          await refresh();
          await queryClient.invalidateQueries({ queryKey: ["me"] });
          onDone();
        }}
      />
    );
  }
  if (!setup) {
    return (
      <Form
        submit={t("mfa.start")}
        action={async () => setSetup(await unwrap(api.POST("/api/v1/me/mfa/totp")))}
      >
        <p>{t("mfa.intro")}</p>
      </Form>
    );
  }
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qr_svg)}`;
  return (
    <div className="enrol">
      <p>{t("mfa.scan")}</p>
      <img className="qr" src={qr} alt={t("mfa.qr_alt")} width={200} height={200} />
      <p>{t("mfa.or_type")}</p>
      <p className="row">
        <code className="secret" data-testid="totp-secret">
          {setup.secret}
        </code>
        <button type="button" onClick={() => void navigator.clipboard?.writeText(setup.secret)}>
          {t("mfa.copy")}
        </button>
      </p>
      <Form
        submit={t("mfa.confirm")}
        action={async () => {
          const out = await unwrap(
            api.POST("/api/v1/me/mfa/totp/confirm", { body: { code: code.replace(/\s/g, "") } }),
          );
          setCodes(out.recovery_codes);
        }}
      >
        <Field
          label={t("signin.mfa_code")}
          value={code}
          onChange={setCode}
          inputMode="numeric"
          autoComplete="one-time-code"
          name="code"
        />
      </Form>
    </div>
  );
}

export function TwoFactor() {
  const { t } = useTranslation();
  const me = useMe();
  const queryClient = useQueryClient();
  const [enrolling, setEnrolling] = useState(false);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  if (!me.data) return null;
  return (
    <section aria-labelledby="mfa-title" className="panel">
      <h2 id="mfa-title">{t("mfa.title")}</h2>
      {!me.data.mfa_enabled ? (
        enrolling ? (
          <Enrol onDone={() => setEnrolling(false)} />
        ) : (
          <>
            <p>{t("mfa.off")}</p>
            <button type="button" className="primary" onClick={() => setEnrolling(true)}>
              {t("mfa.turn_on")}
            </button>
          </>
        )
      ) : (
        <>
          <p className="ok">✓ {t("mfa.on")}</p>
          {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
          <details>
            <summary>{t("mfa.new_codes")}</summary>
            <Form
              submit={t("mfa.new_codes")}
              action={async () => {
                const out = await unwrap(api.POST("/api/v1/me/mfa/recovery-codes", { body: { code } }));
                setCodes(out.recovery_codes);
                setCode("");
              }}
            >
              <Field label={t("signin.mfa_code")} value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" />
            </Form>
          </details>
          <details>
            <summary>{t("mfa.turn_off")}</summary>
            <Form
              submit={t("mfa.turn_off")}
              action={async () => {
                await unwrap(api.DELETE("/api/v1/me/mfa/totp", { body: { password, code } }));
                await queryClient.invalidateQueries({ queryKey: ["me"] });
              }}
            >
              <Field label={t("signin.password")} type="password" value={password} onChange={setPassword} autoComplete="current-password" />
              <Field label={t("signin.mfa_code")} value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" />
            </Form>
          </details>
        </>
      )}
    </section>
  );
}

/** Forced enrolment: the organisation requires 2FA and this account has none yet. */
export function ForcedEnrol() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="forced-title" className="panel narrow">
      <h1 id="forced-title">{t("mfa.required_title")}</h1>
      <p>{t("mfa.required_text")}</p>
      <Enrol onDone={() => window.location.assign("/feed")} />
    </section>
  );
}
