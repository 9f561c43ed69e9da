// CSV import of invitations: a file picked or dropped is first checked by the server's
// dry run (nothing sent), shown row by row with each problem; then sent. Either report
// downloads as CSV.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { NS } from "./i18n";
import { AdminError, DataTable, saveBlob, toCsv } from "./lib";

type Report = Schemas["ImportReport"];

async function runImport(csv: Blob, dryRun: boolean): Promise<Report> {
  return unwrap(
    api.POST("/api/v1/invites/import", {
      params: { query: { dry_run: dryRun } },
      // The endpoint reads the CSV as the raw body, which the OpenAPI document leaves untyped.
      body: csv as never,
      bodySerializer: (body: unknown) => body as Blob,
      headers: { "content-type": "text/csv" },
    }),
  );
}

export function InviteImport() {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<"" | "check" | "send">("");
  const [dragging, setDragging] = useState(false);
  const inputId = useId();
  const hintId = useId();

  async function run(chosen: File, dryRun: boolean) {
    setBusy(dryRun ? "check" : "send");
    setError(null);
    try {
      setReport(await runImport(chosen, dryRun));
      if (!dryRun) await queryClient.invalidateQueries({ queryKey: ["admin"] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy("");
    }
  }
  function choose(chosen: File | undefined) {
    if (!chosen) return;
    setFile(chosen);
    setReport(null);
    void run(chosen, true);
  }
  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files[0]);
  }
  function download() {
    if (!report || !file) return;
    const rows = report.rows.map((r) => [String(r.line), r.email, outcomeText(r.outcome), r.detail ?? ""]);
    const head = [t("import.line"), t("invites.email"), t("import.outcome"), t("import.detail")];
    const name = file.name.replace(/\.csv$/i, "") + (report.dry_run ? "-check.csv" : "-report.csv");
    saveBlob(new Blob([toCsv([head, ...rows])], { type: "text/csv;charset=utf-8" }), name);
  }
  function outcomeText(outcome: string): string {
    return t(`import.outcomes.${outcome}${outcome === "invite" && !report?.dry_run ? "_done" : ""}`);
  }
  const problems = report ? report.rows.filter((r) => r.outcome !== "invite").length : 0;
  // A dry run invites nobody: what it would do is in its counts.
  const good = report ? (report.dry_run ? (report.counts.invite ?? 0) : report.invited) : 0;
  return (
    <>
      <p>
        <Link to="/admin/invites">{t("import.back")}</Link>
      </p>
      <h1>{t("import.title")}</h1>
      <p className="muted">{t("import.intro")}</p>
      <div
        className={dragging ? "dropzone dragging" : "dropzone"}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <label htmlFor={inputId}>{t("import.choose")}</label>
        <input
          id={inputId}
          type="file"
          accept=".csv,text/csv"
          aria-describedby={hintId}
          onChange={(e) => choose(e.target.files?.[0])}
        />
        <p className="hint" id={hintId}>
          {t("import.columns")}
        </p>
      </div>
      {busy && (
        <div className="progress" role="status">
          <label>
            {t(busy === "check" ? "import.checking" : "import.sending", { name: file?.name ?? "" })}
            <progress />
          </label>
        </div>
      )}
      <AdminError error={error} />
      {report && (
        <section aria-labelledby="report-title" className="import-report">
          <h2 id="report-title">{report.dry_run ? t("import.check_title") : t("import.done_title")}</h2>
          <p role="status">
            {report.dry_run
              ? t("import.would", { count: good, total: report.total })
              : t("import.invited", { count: good, total: report.total })}{" "}
            {problems > 0 && t("import.problems", { count: problems })}
          </p>
          <div className="row">
            {report.dry_run && good > 0 && file && (
              <button type="button" className="primary" disabled={!!busy} onClick={() => void run(file, false)}>
                {t("import.send", { count: good })}
              </button>
            )}
            <button type="button" onClick={download}>
              {t("import.download")}
            </button>
          </div>
          <DataTable
            caption={t("import.rows")}
            rows={report.rows}
            rowKey={(r) => r.line}
            rowClassName={(r) => (r.outcome === "invite" ? "" : "problem")}
            rowHeader={false}
            columns={[
              { header: t("import.line"), cell: (r) => r.line },
              { header: t("invites.email"), cell: (r) => r.email || "–" },
              {
                header: t("import.outcome"),
                cell: (r) => <span className={r.outcome === "invite" ? "tag ok-tag" : "tag warn"}>{outcomeText(r.outcome)}</span>,
              },
              { header: t("import.detail"), cell: (r) => r.detail },
            ]}
          />
        </section>
      )}
    </>
  );
}
