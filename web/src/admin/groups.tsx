// Groups: departments, locations and teams with their member counts, found by name or
// description, and the form that creates one (its page then adds the members).
import { useQueryClient } from "@tanstack/react-query";
import { useDeferredValue, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, DataTable, useAction, useGroups } from "./lib";

export const KINDS = ["department", "location", "team"] as const;
export type Kind = (typeof KINDS)[number];

export function KindSelect({ value, onChange }: { value: Kind; onChange: (kind: Kind) => void }) {
  const { t } = useTranslation(NS);
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{t("groups.kind")}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Kind)}>
        {KINDS.map((k) => (
          <option key={k} value={k}>
            {t(`groups.kinds.${k}`)}
          </option>
        ))}
      </select>
    </div>
  );
}

export function Groups() {
  const { t } = useTranslation(NS);
  const groups = useGroups();
  const [q, setQ] = useState("");
  const query = useDeferredValue(q.trim().toLocaleLowerCase());
  const searchId = useId();
  const deleted = (useLocation().state as { deleted?: string } | null)?.deleted;
  // An org has tens or hundreds of groups, all in one answer: searched here.
  const rows = (groups.data?.items ?? []).filter(
    (g) => !query || `${g.name} ${g.description}`.toLocaleLowerCase().includes(query),
  );
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.groups.title")}</h1>
        <Link className="button primary" to="/admin/groups/new">
          {t("groups.new")}
        </Link>
      </div>
      <p className="muted">{t("groups.intro")}</p>
      {deleted && <p role="status">{t("groups.deleted", { name: deleted })}</p>}
      <form className="admin-filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={searchId}>{t("groups.search")}</label>
          <input id={searchId} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
      </form>
      <AdminError error={groups.error} />
      {groups.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p role="status">{groups.data?.items.length ? t("groups.no_match") : t("groups.none")}</p>
      ) : (
        <DataTable
          caption={t("sections.groups.title")}
          rows={rows}
          rowKey={(g) => g.id}
          columns={[
            { header: t("groups.name"), cell: (g) => <Link to={`/admin/groups/${g.id}`}>{g.name}</Link> },
            { header: t("groups.kind"), cell: (g) => t(`groups.kinds.${g.kind}`, { defaultValue: g.kind }) },
            { header: t("groups.members"), cell: (g) => g.member_count },
            { header: t("groups.description"), cell: (g) => g.description || "–" },
          ]}
        />
      )}
    </>
  );
}

export function GroupNew() {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("team");
  const [description, setDescription] = useState("");
  const action = useAction();
  async function create() {
    const made = await unwrap(api.POST("/api/v1/groups", { body: { name, kind, description } }));
    await queryClient.invalidateQueries({ queryKey: ["admin", "groups"] });
    navigate(`/admin/groups/${made.id}`, { state: { created: true } });
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="group-new">
      <p>
        <Link to="/admin/groups">{t("groups.back")}</Link>
      </p>
      <h1 id="group-new">{t("groups.new")}</h1>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(create);
        }}
      >
        <Field label={t("groups.name")} value={name} onChange={setName} autoComplete="off" />
        <KindSelect value={kind} onChange={setKind} />
        <Field label={t("groups.description")} value={description} onChange={setDescription} required={false} />
        <AdminError error={action.error} />
        <button type="submit" className="primary" disabled={action.busy}>
          {t("groups.create")}
        </button>
      </form>
    </section>
  );
}
