// One batch of access codes: each card with its person (when bound) and status, a page
// at a time; an open card that was lost can be withdrawn on its own.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { AdminError, DataTable, day, StatusTag, useRoleName, when } from "./lib";

type Code = Schemas["CodeStatusOut"];

export function Batch() {
  const { t, i18n } = useTranslation(NS);
  const { batchId = "" } = useParams();
  const queryClient = useQueryClient();
  const roleName = useRoleName();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const batch = useQuery({
    queryKey: ["admin", "batches", batchId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/access-codes/batches/{batch_id}", { params: { path: { batch_id: batchId } } })),
  });
  const codes = useInfiniteQuery({
    queryKey: ["admin", "batches", batchId, "codes"],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/access-codes", {
          params: { query: { batch_id: batchId, cursor: pageParam, limit: 100 } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  async function withdraw(code: Code) {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/access-codes/{code_id}", { params: { path: { code_id: code.id } } }));
      setDone(t("batch.withdrawn", { seq: code.seq }));
      await queryClient.invalidateQueries({ queryKey: ["admin", "batches"] });
    } catch (e) {
      setError(e);
    }
  }
  if (batch.error) return <AdminError error={batch.error} />;
  if (!batch.data) return <Loading />;
  const b = batch.data;
  // Codes are listed newest first; a batch reads best card by card.
  const rows = (codes.data?.pages.flatMap((p) => p.items) ?? []).sort((x, y) => x.seq - y.seq);
  const bound = rows.some((c) => c.employee_id);
  return (
    <>
      <p>
        <Link to="/admin/codes">{t("codes.back")}</Link>
      </p>
      <h1>
        {b.label} {b.revoked_at && <StatusTag kind="code" status="revoked" />}
      </h1>
      <dl className="facts">
        <dt>{t("people.role")}</dt>
        <dd>{roleName(b.role)}</dd>
        <dt>{t("codes.size")}</dt>
        <dd>{b.size}</dd>
        <dt>{t("codes.redeemed")}</dt>
        <dd>{b.counts.redeemed ?? 0}</dd>
        <dt>{t("codes.open")}</dt>
        <dd>{b.counts.unused ?? 0}</dd>
        <dt>{t("codes.expires")}</dt>
        <dd>{day(b.expires_at, i18n.language)}</dd>
      </dl>
      <AdminError error={error ?? codes.error} />
      {done && <p role="status">{done}</p>}
      {codes.isPending ? (
        <Loading />
      ) : (
        <DataTable
          caption={t("batch.cards")}
          rows={rows}
          rowKey={(c) => c.id}
          columns={[
            { header: t("batch.card"), cell: (c) => t("batch.card_no", { seq: c.seq }) },
            bound && { header: t("people.employee_id"), cell: (c) => c.employee_id ?? "–" },
            bound && {
              header: t("people.name"),
              cell: (c) => (c.bound_user_id ? <Link to={`/admin/people/${c.bound_user_id}`}>{c.display_name}</Link> : "–"),
            },
            { header: t("people.status"), cell: (c) => <StatusTag kind="code" status={c.status} /> },
            { header: t("batch.redeemed_at"), cell: (c) => (c.redeemed_at ? when(c.redeemed_at, i18n.language) : "–") },
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
      {codes.hasNextPage && (
        <button type="button" onClick={() => void codes.fetchNextPage()} disabled={codes.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </>
  );
}
