// Roles and permissions: the built-in roles and the org's own, each permission said in
// words; custom roles made, changed and deleted (roles.manage) with a checklist. Nobody
// can give a permission they do not hold themselves (the API refuses it too).
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { hasPermission, Loading, useMe } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, DataTable, useRoleName, useRoles } from "./lib";

type Role = Schemas["RoleOut"];
const wordsKey = (permission: string) => `permissions.${permission.replace(".", "_")}`;

/** A role key from its name: "Shift leads" → "shift_leads". */
export function keyFrom(name: string): string {
  const key = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 60);
  return /^[a-z]/.test(key) ? key : `role_${key}`;
}

function PermissionList({ permissions }: { permissions: string[] }) {
  const { t } = useTranslation(NS);
  return (
    <ul className="permission-list">
      {permissions.map((p) => (
        <li key={p}>{t(wordsKey(p), { defaultValue: p })}</li>
      ))}
    </ul>
  );
}

export function Roles() {
  const { t } = useTranslation(NS);
  const me = useMe();
  const roles = useRoles();
  const roleName = useRoleName();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<Role | "new" | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const manage = hasPermission(me.data, "roles.manage");
  // Every permission there is: the owner's role holds them all.
  const all = roles.data?.items.find((r) => r.key === "owner")?.permissions ?? [];
  async function remove(role: Role) {
    setError(null);
    try {
      await unwrap(api.DELETE("/api/v1/roles/{key}", { params: { path: { key: role.key } } }));
      setDone(t("custom_roles.deleted", { name: role.name }));
      setConfirming(null);
      await queryClient.invalidateQueries({ queryKey: ["admin", "roles"] });
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section className="panel" aria-labelledby="security-roles">
      <div className="admin-title">
        <h2 id="security-roles">{t("custom_roles.title")}</h2>
        {manage && editing === null && (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            {t("custom_roles.new")}
          </button>
        )}
      </div>
      <p className="muted">{t("custom_roles.intro")}</p>
      {editing !== null && (
        <RoleForm
          role={editing === "new" ? null : editing}
          all={all}
          mine={me.data?.permissions ?? []}
          onDone={(message) => {
            setEditing(null);
            setDone(message);
          }}
        />
      )}
      <AdminError error={error ?? roles.error} />
      {done && <p role="status">{done}</p>}
      {!roles.data ? (
        !roles.error && <Loading />
      ) : (
        <DataTable
          caption={t("custom_roles.title")}
          rows={roles.data.items}
          rowKey={(r) => r.key}
          columns={[
            {
              header: t("custom_roles.name"),
              cell: (r) => (
                <>
                  {roleName(r.key)} <span className="tag">{r.builtin ? t("custom_roles.builtin") : t("custom_roles.custom")}</span>
                </>
              ),
            },
            {
              header: t("custom_roles.allows"),
              cell: (r) => (
                <details>
                  <summary>{t("custom_roles.count", { count: r.permissions.length })}</summary>
                  <PermissionList permissions={r.permissions} />
                </details>
              ),
            },
            manage && {
              header: t("invites.actions"),
              cell: (r) =>
                !r.builtin &&
                (confirming === r.key ? (
                  <span className="row">
                    <button type="button" className="danger" onClick={() => void remove(r)}>
                      {t("custom_roles.delete_now", { name: r.name })}
                    </button>
                    <button type="button" onClick={() => setConfirming(null)}>
                      {t("common.cancel")}
                    </button>
                  </span>
                ) : (
                  <span className="row">
                    <button type="button" onClick={() => setEditing(r)} aria-label={t("custom_roles.edit_named", { name: r.name })}>
                      {t("custom_roles.edit")}
                    </button>
                    <button
                      type="button"
                      onClick={() => setConfirming(r.key)}
                      aria-label={t("custom_roles.delete_named", { name: r.name })}
                    >
                      {t("custom_roles.delete")}
                    </button>
                  </span>
                )),
            },
          ]}
        />
      )}
    </section>
  );
}

function RoleForm(props: { role: Role | null; all: string[]; mine: string[]; onDone: (message: string) => void }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [name, setName] = useState(props.role?.name ?? "");
  const [chosen, setChosen] = useState<string[]>(props.role?.permissions ?? []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function save() {
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), permissions: chosen };
      if (props.role) {
        await unwrap(api.PATCH("/api/v1/roles/{key}", { params: { path: { key: props.role.key } }, body }));
      } else {
        await unwrap(api.POST("/api/v1/roles", { body: { ...body, key: keyFrom(name) } }));
      }
      await queryClient.invalidateQueries({ queryKey: ["admin", "roles"] });
      props.onDone(t(props.role ? "custom_roles.saved" : "custom_roles.created", { name: body.name }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form
      className="form role-form"
      aria-label={props.role ? t("custom_roles.edit_named", { name: props.role.name }) : t("custom_roles.new")}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field label={t("custom_roles.name")} value={name} onChange={setName} autoComplete="off" />
      <fieldset className="choices">
        <legend>{t("custom_roles.permissions")}</legend>
        {props.all.map((p) => {
          const held = props.mine.includes(p);
          return (
            <label key={p}>
              <input
                type="checkbox"
                checked={chosen.includes(p)}
                disabled={!held}
                onChange={(e) => setChosen(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))}
              />{" "}
              {t(wordsKey(p), { defaultValue: p })}
              {!held && <span className="muted"> {t("custom_roles.not_yours")}</span>}
            </label>
          );
        })}
      </fieldset>
      <AdminError error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {props.role ? t("common.save") : t("custom_roles.create")}
        </button>
        <button type="button" onClick={() => props.onDone("")}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
