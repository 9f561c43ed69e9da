// Access codes for staff without a company address: create a batch (a number of unbound
// codes, or one per person of a CSV of employee ids and names) and get it once as
// printable cards, CSV or JSON; batches with their redeemed and open counts; withdraw one.
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, DataTable, day, RoleSelect, saveBlob, StatusTag, useRoleName } from "./lib";

type Batch = Schemas["CodeBatchOut"];
type Format = "pdf" | "csv" | "json";
const FORMATS: Format[] = ["pdf", "csv", "json"];

export function Codes() {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const roleName = useRoleName();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const [confirming, setConfirming] = useState<string | null>(null);
  const batches = useInfiniteQuery({
    queryKey: ["admin", "batches"],
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/access-codes/batches", { params: { query: { cursor: pageParam, limit: 50 } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: 10_000,
  });
  async function revoke(batch: Batch) {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/access-codes/batches/{batch_id}", { params: { path: { batch_id: batch.id } } }));
      setDone(t("codes.revoked", { label: batch.label }));
      setConfirming(null);
      await queryClient.invalidateQueries({ queryKey: ["admin", "batches"] });
    } catch (e) {
      setError(e);
    }
  }
  const rows = batches.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.codes.title")}</h1>
        <Link className="button primary" to="/admin/codes/new">
          {t("codes.new")}
        </Link>
      </div>
      <p className="muted">{t("codes.intro")}</p>
      <AdminError error={error ?? batches.error} />
      {done && <p role="status">{done}</p>}
      {batches.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("codes.none")}</p>
      ) : (
        <DataTable
          caption={t("codes.batches")}
          rows={rows}
          rowKey={(b) => b.id}
          columns={[
            {
              header: t("codes.label"),
              cell: (b) => (
                <>
                  <Link to={`/admin/codes/${b.id}`}>{b.label}</Link> {b.revoked_at && <StatusTag kind="code" status="revoked" />}
                </>
              ),
            },
            { header: t("people.role"), cell: (b) => roleName(b.role) },
            { header: t("codes.size"), cell: (b) => b.size },
            { header: t("codes.redeemed"), cell: (b) => b.counts.redeemed ?? 0 },
            { header: t("codes.open"), cell: (b) => b.counts.unused ?? 0 },
            { header: t("codes.expires"), cell: (b) => day(b.expires_at, i18n.language) },
            {
              header: t("invites.actions"),
              cell: (b) =>
                (b.counts.unused ?? 0) > 0 &&
                (confirming === b.id ? (
                  <span className="row">
                    <button type="button" className="danger" onClick={() => void revoke(b)}>
                      {t("codes.revoke_now", { count: b.counts.unused ?? 0 })}
                    </button>
                    <button type="button" onClick={() => setConfirming(null)}>
                      {t("common.cancel")}
                    </button>
                  </span>
                ) : (
                  <button type="button" onClick={() => setConfirming(b.id)} aria-label={t("codes.revoke_batch", { label: b.label })}>
                    {t("codes.revoke")}
                  </button>
                )),
            },
          ]}
        />
      )}
      {batches.hasNextPage && (
        <button type="button" onClick={() => void batches.fetchNextPage()} disabled={batches.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </>
  );
}

async function createBatch(
  input: { label: string; role: string; expires_in_days: number; count: number },
  people: File | null,
  format: Format,
): Promise<Blob> {
  // Every format comes back as a file to save: the codes are shown only in this answer.
  if (people) {
    return unwrap(
      api.POST("/api/v1/access-codes/import", {
        params: { query: { label: input.label, role: input.role, expires_in_days: input.expires_in_days, format } },
        // The endpoint reads the CSV as the raw body, which the OpenAPI document leaves untyped.
        body: people as never,
        bodySerializer: (body: unknown) => body as Blob,
        headers: { "content-type": "text/csv" },
        parseAs: "blob",
      }),
    ) as unknown as Promise<Blob>;
  }
  return unwrap(
    api.POST("/api/v1/access-codes", {
      params: { query: { format } },
      body: { label: input.label, role: input.role, expires_in_days: input.expires_in_days, count: input.count },
      parseAs: "blob",
    }),
  ) as unknown as Promise<Blob>;
}

export function BatchNew() {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [label, setLabel] = useState("");
  const [mode, setMode] = useState<"count" | "people">("count");
  const [count, setCount] = useState("20");
  const [people, setPeople] = useState<File | null>(null);
  const [role, setRole] = useState("member");
  const [days, setDays] = useState("30");
  const [format, setFormat] = useState<Format>("pdf");
  const [made, setMade] = useState<{ blob: Blob; name: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = { people: useId(), format: useId() };
  async function create() {
    setBusy(true);
    setError(null);
    try {
      const input = { label, role, expires_in_days: Number(days), count: Number(count) };
      const blob = await createBatch(input, mode === "people" ? people : null, format);
      const name = `${label.replace(/[^\p{L}\p{N}_-]+/gu, "-") || "codes"}.${format}`;
      setMade({ blob, name });
      saveBlob(blob, name);
      await queryClient.invalidateQueries({ queryKey: ["admin", "batches"] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  if (made) {
    return (
      <section className="panel narrow-admin" aria-labelledby="batch-made">
        <h1 id="batch-made">{t("codes.made_title")}</h1>
        <p role="status">{t("codes.made_text", { name: made.name })}</p>
        <p className="warn-note">{t("codes.once")}</p>
        <div className="row">
          <button type="button" className="primary" onClick={() => saveBlob(made.blob, made.name)}>
            {t("codes.save_again")}
          </button>
          <Link className="button" to="/admin/codes">
            {t("codes.to_batches")}
          </Link>
        </div>
      </section>
    );
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="batch-new">
      <p>
        <Link to="/admin/codes">{t("codes.back")}</Link>
      </p>
      <h1 id="batch-new">{t("codes.new")}</h1>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <Field label={t("codes.label")} value={label} onChange={setLabel} hint={t("codes.label_hint")} />
        <fieldset className="choices">
          <legend>{t("codes.who")}</legend>
          <label>
            <input type="radio" name="mode" checked={mode === "count"} onChange={() => setMode("count")} /> {t("codes.unbound")}
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === "people"} onChange={() => setMode("people")} /> {t("codes.bound")}
          </label>
        </fieldset>
        {mode === "count" ? (
          <Field label={t("codes.count")} type="number" inputMode="numeric" value={count} onChange={setCount} />
        ) : (
          <div className="field">
            <label htmlFor={ids.people}>{t("codes.people_file")}</label>
            <input
              id={ids.people}
              type="file"
              accept=".csv,text/csv"
              required
              aria-describedby={`${ids.people}-hint`}
              onChange={(e) => setPeople(e.target.files?.[0] ?? null)}
            />
            <p className="hint" id={`${ids.people}-hint`}>
              {t("codes.people_hint")}
            </p>
          </div>
        )}
        <RoleSelect label={t("people.role")} value={role} onChange={setRole} />
        <Field label={t("codes.days")} type="number" inputMode="numeric" value={days} onChange={setDays} />
        <div className="field">
          <label htmlFor={ids.format}>{t("codes.format")}</label>
          <select id={ids.format} value={format} onChange={(e) => setFormat(e.target.value as Format)}>
            {FORMATS.map((f) => (
              <option key={f} value={f}>
                {t(`codes.formats.${f}`)}
              </option>
            ))}
          </select>
        </div>
        <p className="muted">{t("codes.once")}</p>
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t("codes.create")}
        </button>
      </form>
    </section>
  );
}
