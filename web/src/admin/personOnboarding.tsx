// On a person's page: invitations to their address, how many invitations they sent are
// still pending, and the access codes bound to them (an open one can be withdrawn).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { AdminError, DataTable, day, StatusTag, when } from "./lib";

type User = Schemas["UserOut"];

export function PersonOnboarding({ user }: { user: User }) {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const key = ["admin", "person-onboarding", user.id];
  const data = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(api.GET("/api/v1/users/{user_id}/onboarding", { params: { path: { user_id: user.id } } })),
  });
  async function withdraw(code: Schemas["CodeStatusOut"]) {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/access-codes/{code_id}", { params: { path: { code_id: code.id } } }));
      setDone(t("batch.withdrawn", { seq: code.seq }));
      await queryClient.invalidateQueries({ queryKey: key });
      await queryClient.invalidateQueries({ queryKey: ["admin", "batches"] });
    } catch (e) {
      setError(e);
    }
  }
  const d = data.data;
  return (
    <section className="panel" aria-labelledby="person-onboarding">
      <h2 id="person-onboarding">{t("person_onboarding.title")}</h2>
      <AdminError error={error ?? data.error} />
      {done && <p role="status">{done}</p>}
      {!d ? (
        !data.error && <Loading />
      ) : (
        <>
          {d.invites.length === 0 && d.codes.length === 0 && <p>{t("person_onboarding.none")}</p>}
          {d.invites.length > 0 && (
            <DataTable
              caption={t("person_onboarding.invites")}
              showCaption
              rows={d.invites}
              rowKey={(i) => i.id}
              columns={[
                { header: t("invites.email"), cell: (i) => i.email },
                { header: t("people.status"), cell: (i) => <StatusTag kind="invite" status={i.status} /> },
                { header: t("invites.sent"), cell: (i) => when(i.last_sent_at, i18n.language) },
                { header: t("invites.expires"), cell: (i) => day(i.expires_at, i18n.language) },
              ]}
            />
          )}
          {d.codes.length > 0 && (
            <DataTable
              caption={t("person_onboarding.codes")}
              showCaption
              rows={d.codes}
              rowKey={(c) => c.id}
              columns={[
                {
                  header: t("batch.card"),
                  cell: (c) => <Link to={`/admin/codes/${c.batch_id}`}>{t("batch.card_no", { seq: c.seq })}</Link>,
                },
                { header: t("people.status"), cell: (c) => <StatusTag kind="code" status={c.status} /> },
                { header: t("codes.expires"), cell: (c) => day(c.expires_at, i18n.language) },
                {
                  header: t("invites.actions"),
                  cell: (c) =>
                    c.status === "unused" && (
                      <button type="button" onClick={() => void withdraw(c)} aria-label={t("batch.withdraw_card", { seq: c.seq })}>
                        {t("batch.withdraw")}
                      </button>
                    ),
                },
              ]}
            />
          )}
          {d.invites_sent_pending > 0 && (
            <p>
              {t("person_onboarding.sent_pending", { count: d.invites_sent_pending })}{" "}
              <Link to="/admin/invites">{t("person_onboarding.to_invites")}</Link>
            </p>
          )}
        </>
      )}
    </section>
  );
}
