// Erasure (GDPR Art. 17) on a person's page: what it deletes and ends, a reason for the
// audit log, and the person's name typed out before the button works.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { NS } from "./i18n";
import { AdminError } from "./lib";

type User = Schemas["UserOut"];

export function Erase({ user }: { user: User }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [reason, setReason] = useState("");
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = { reason: useId(), name: useId() };
  const name = user.display_name;
  const matches = typed.trim() === name.trim();
  async function erase() {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST("/api/v1/users/{user_id}/erase", {
          params: { path: { user_id: user.id } },
          body: { reason: reason.trim() },
        }),
      );
      // The page now shows the erased person ("Deleted user"); everything else refreshes.
      await queryClient.invalidateQueries({ queryKey: ["admin"] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel danger-zone" aria-labelledby="person-erase">
      <h2 id="person-erase">{t("erase.title")}</h2>
      <p>{t("erase.what")}</p>
      <ul>
        <li>{t("erase.deleted")}</li>
        <li>{t("erase.ended")}</li>
        <li>{t("erase.kept")}</li>
      </ul>
      <p className="warn-note">{t("erase.final")}</p>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (matches) void erase();
        }}
      >
        <div className="field">
          <label htmlFor={ids.reason}>{t("erase.reason")}</label>
          <textarea
            id={ids.reason}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            required
            minLength={3}
            maxLength={500}
            rows={2}
            aria-describedby={`${ids.reason}-hint`}
          />
          <p className="hint" id={`${ids.reason}-hint`}>
            {t("erase.reason_hint")}
          </p>
        </div>
        <div className="field">
          <label htmlFor={ids.name}>{t("erase.type_name", { name })}</label>
          <input
            id={ids.name}
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            required
          />
        </div>
        <AdminError error={error} />
        <button type="submit" className="danger" disabled={busy || !matches || reason.trim().length < 3}>
          {t("erase.now", { name })}
        </button>
      </form>
    </section>
  );
}
