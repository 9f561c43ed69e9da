// The audit log: newest first, filtered by actor, action, target and time, in cursor pages;
// the whole log downloadable as JSON Lines (with its chain MACs) for a SIEM. The table
// scrolls sideways on a phone, so its region takes keyboard focus (axe: scrollable region).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { ChainState } from "./auditChain";
import { AdminError, DataTable, saveBlob, when } from "./lib";

type Filters = { actor: string; action: string; target: string; since: string; until: string };
const EMPTY: Filters = { actor: "", action: "", target: "", since: "", until: "" };

// A datetime-local value (the browser's local time) as the API's ISO 8601 instant.
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function Audit() {
  const { t, i18n } = useTranslation(NS);
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = { actor: useId(), action: useId(), target: useId(), since: useId(), until: useId() };
  const people = useQuery({
    queryKey: ["admin", "audit-people"],
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { limit: 200 } } })),
    staleTime: 60_000,
  });
  const names = new Map((people.data?.items ?? []).map((u) => [u.id, u.display_name || u.email || u.id]));
  const events = useInfiniteQuery({
    queryKey: ["admin", "audit", filters],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/audit-events", {
          params: {
            query: {
              actor_id: filters.actor || undefined,
              action: filters.action || undefined,
              target_id: filters.target || undefined,
              since: iso(filters.since),
              until: iso(filters.until),
              cursor: pageParam,
              limit: 50,
            },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  async function exportLog() {
    setBusy(true);
    setError(null);
    try {
      const blob = (await unwrap(
        api.GET("/api/v1/audit-events/export", {
          params: { query: { since: iso(filters.since) } },
          parseAs: "blob",
        }),
      )) as unknown as Blob;
      saveBlob(blob, "audit.jsonl");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  const set = (key: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });
  const rows = events.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.audit.title")}</h1>
        <button type="button" onClick={() => void exportLog()} disabled={busy}>
          {t("audit.export")}
        </button>
      </div>
      <p className="muted">{t("audit.intro")}</p>
      <ChainState />
      <form
        className="admin-filters"
        aria-label={t("audit.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <div className="field">
          <label htmlFor={ids.actor}>{t("audit.actor")}</label>
          <select id={ids.actor} value={draft.actor} onChange={set("actor")}>
            <option value="">{t("audit.anyone")}</option>
            {people.data?.items.map((u) => (
              <option key={u.id} value={u.id}>
                {u.display_name} {u.email ? `(${u.email})` : ""}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.action}>{t("audit.action")}</label>
          <input id={ids.action} value={draft.action} onChange={set("action")} placeholder="domain.added" />
        </div>
        <div className="field">
          <label htmlFor={ids.target}>{t("audit.target")}</label>
          <input id={ids.target} value={draft.target} onChange={set("target")} />
        </div>
        <div className="field">
          <label htmlFor={ids.since}>{t("audit.since")}</label>
          <input id={ids.since} type="datetime-local" value={draft.since} onChange={set("since")} />
        </div>
        <div className="field">
          <label htmlFor={ids.until}>{t("audit.until")}</label>
          <input id={ids.until} type="datetime-local" value={draft.until} onChange={set("until")} />
        </div>
        <div className="row">
          <button type="submit" className="primary">
            {t("audit.apply")}
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
            }}
          >
            {t("audit.clear")}
          </button>
        </div>
      </form>
      <AdminError error={error ?? events.error} />
      {events.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("audit.none")}</p>
      ) : (
        <DataTable
          caption={t("audit.events")}
          rows={rows}
          rowKey={(e) => e.id}
          rowClassName={(e) => (e.outcome === "success" ? undefined : "problem")}
          columns={[
            { header: t("audit.when"), cell: (e) => when(e.created_at, i18n.language) },
            { header: t("audit.action"), cell: (e) => <code>{e.action}</code> },
            { header: t("audit.outcome"), cell: (e) => t(`audit.outcomes.${e.outcome}`, { defaultValue: e.outcome }) },
            { header: t("audit.actor"), cell: (e) => (e.actor_id ? (names.get(e.actor_id) ?? e.actor_id) : e.actor_type) },
            { header: t("audit.target"), className: "breakable", cell: (e) => (e.target_type ? `${e.target_type} ${e.target_id ?? ""}` : "–") },
            {
              header: t("audit.details"),
              className: "breakable",
              cell: (e) =>
                Object.entries(e.details)
                  .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
                  .join("; "),
            },
          ]}
        />
      )}
      {events.hasNextPage && (
        <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </>
  );
}
