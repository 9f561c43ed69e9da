// What the console's pages share: problems in words, status tags, the table, CSV files in
// and out, groups and roles by name.
import { useQuery } from "@tanstack/react-query";
import { useId, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap } from "../api/client";
import { ErrorNote } from "../components/forms";
import { NS } from "./i18n";

// Problems whose detail names the rows or ids at fault: shown after our words.
const DETAILED = new Set(["csv_invalid", "csv_missing_display_name", "duplicate_employee_id", "employee_id_taken"]);

/** A problem in the console's words when it has them, else in the app's. */
export function AdminError({ error }: { error: unknown }) {
  const { t } = useTranslation(NS);
  if (!error) return null;
  const own = error instanceof ApiError && error.code ? t(`errors.${error.code}`, { defaultValue: "" }) : "";
  if (!own) return <ErrorNote error={error} />;
  const detail = error instanceof ApiError && DETAILED.has(error.code) ? ` (${error.message})` : "";
  return (
    <p className="error" role="alert">
      {own}
      {detail}
    </p>
  );
}

export function StatusTag({ kind, status }: { kind: "user" | "invite" | "code"; status: string }) {
  const { t } = useTranslation(NS);
  const warn = ["deactivated", "expired", "revoked", "erased"].includes(status);
  return <span className={warn ? "tag warn" : "tag"}>{t(`status.${kind}.${status}`, { defaultValue: status })}</span>;
}

/** A column of a DataTable: its header and what it shows of each row. */
export type Column<T> = {
  header: string;
  cell: (row: T) => ReactNode;
  className?: string;
};

/**
 * The console's table: a region named by the caption that scrolls sideways when the table is
 * wider than the page (focusable, so that a keyboard can scroll it), a header row, and the
 * first column as each row's header unless `rowHeader` is false. Columns given as `false`
 * are left out (`bound && {...}`). `stack`: under a phone's width each row becomes a card,
 * each cell its column's header beside its value, for tables whose inputs cannot shrink.
 */
export function DataTable<T>(props: {
  caption: string;
  showCaption?: boolean;
  columns: (Column<T> | false)[];
  rows: readonly T[];
  rowKey: (row: T) => string | number;
  rowClassName?: (row: T) => string | undefined;
  rowHeader?: boolean;
  stack?: boolean;
}) {
  const columns = props.columns.filter((c): c is Column<T> => c !== false);
  const rowHeader = props.rowHeader ?? true;
  // Stacked, the table's parts are no longer laid out as a table: roles said outright keep
  // them one for assistive technology (some browsers drop a table's semantics with its
  // layout). The header row stays, visible only to screen readers.
  const role = (name: string) => (props.stack ? name : undefined);
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={props.caption}>
      <table className={props.stack ? "admin-table stack" : "admin-table"} role={role("table")}>
        <caption className={props.showCaption ? undefined : "sr-only"}>{props.caption}</caption>
        <thead role={role("rowgroup")}>
          <tr role={role("row")}>
            {columns.map((c, n) => (
              <th key={n} scope="col" role={role("columnheader")}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody role={role("rowgroup")}>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)} className={props.rowClassName?.(row)} role={role("row")}>
              {columns.map((c, n) =>
                rowHeader && n === 0 ? (
                  <th key={n} scope="row" className={c.className} role={role("rowheader")}>
                    {c.cell(row)}
                  </th>
                ) : props.stack ? (
                  // The label is drawn from data-label by admin.css; the value in one box
                  // beside it, however many parts it has.
                  <td key={n} className={c.className} role="cell" data-label={c.header}>
                    <div>{c.cell(row)}</div>
                  </td>
                ) : (
                  <td key={n} className={c.className}>
                    {c.cell(row)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// A spreadsheet must not run a cell as a formula (SECURITY.md rule 14).
function cell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r;]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(rows: string[][]): string {
  return rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** Hands a file to the browser's downloads. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function useGroups() {
  return useQuery({
    queryKey: ["admin", "groups"],
    queryFn: () => unwrap(api.GET("/api/v1/groups")),
    staleTime: 60_000,
  });
}

export function useRoles() {
  return useQuery({
    queryKey: ["admin", "roles"],
    queryFn: () => unwrap(api.GET("/api/v1/roles")),
    staleTime: 60_000,
  });
}

/** A role's name: the org's own for custom roles, ours for built-in ones. */
export function useRoleName(): (key: string) => string {
  const { t } = useTranslation(NS);
  const roles = useRoles();
  return (key) => {
    const role = roles.data?.items.find((r) => r.key === key);
    if (role && !role.builtin) return role.name;
    return t(`roles.${key}`, { defaultValue: role?.name ?? key });
  };
}

export function when(iso: string | null | undefined, language: string): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(language, { dateStyle: "medium", timeStyle: "short" });
}

export function day(iso: string | null | undefined, language: string): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleDateString(language, { dateStyle: "medium" });
}

/** The org's roles, built-in and custom, to pick one. */
export function RoleSelect(props: { label: string; value: string; onChange: (key: string) => void }) {
  const roles = useRoles();
  const roleName = useRoleName();
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {roles.data?.items.map((r) => (
          <option key={r.key} value={r.key}>
            {roleName(r.key)}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The org's groups as checkboxes; without `empty`, nothing is shown while there are none. */
export function GroupChecklist(props: {
  legend: string;
  value: string[];
  onChange: (ids: string[]) => void;
  empty?: string;
}) {
  const groups = useGroups();
  const items = groups.data?.items;
  if (!props.empty && !items?.length) return null;
  return (
    <fieldset className="choices">
      <legend>{props.legend}</legend>
      {items?.length === 0 && <p className="muted">{props.empty}</p>}
      {items?.map((g) => (
        <label key={g.id}>
          <input
            type="checkbox"
            checked={props.value.includes(g.id)}
            onChange={(e) =>
              props.onChange(e.target.checked ? [...props.value, g.id] : props.value.filter((id) => id !== g.id))
            }
          />{" "}
          {g.name}
        </label>
      ))}
    </fieldset>
  );
}

/** One action at a time with its problem: `run` says whether it succeeded. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run(action: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

/** A destructive step asked once more, saying what it does, with its own cancel. */
export function Confirm(props: {
  label: string;
  children: ReactNode;
  action: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation(NS);
  return (
    <div className="confirm" role="group" aria-label={props.label}>
      {props.children}
      <div className="row">
        <button type="button" className="danger" disabled={props.busy} onClick={props.onConfirm}>
          {props.action}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("common.cancel")}
        </button>
      </div>
    </div>
  );
}
