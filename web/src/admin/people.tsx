// People: the directory for HR, searchable by name, address or employee id and filtered
// by group, role, status and 2FA (`?mfa=off` from the security settings), a page at a time. It refreshes every few seconds while
// shown, so someone who accepts an invitation appears without a reload.
import { useInfiniteQuery } from "@tanstack/react-query";
import { useDeferredValue, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { AdminError, DataTable, StatusTag, useGroups, useRoleName, useRoles, when } from "./lib";

const STATUSES = ["active", "pending", "deactivated"] as const;
type Status = (typeof STATUSES)[number];
const MFA = ["on", "off"] as const;
type Mfa = (typeof MFA)[number];
export const PEOPLE_REFRESH_MS = 4_000;

export function People() {
  const { t, i18n } = useTranslation(NS);
  const [q, setQ] = useState("");
  const [groupId, setGroupId] = useState("");
  const [role, setRole] = useState("");
  const [status, setStatus] = useState<Status | "">("");
  const [params] = useSearchParams();
  const [mfa, setMfa] = useState<Mfa | "">(MFA.find((m) => m === params.get("mfa")) ?? "");
  const query = useDeferredValue(q.trim());
  const groups = useGroups();
  const roles = useRoles();
  const roleName = useRoleName();
  const ids = { q: useId(), group: useId(), role: useId(), status: useId(), mfa: useId() };
  const people = useInfiniteQuery({
    queryKey: ["admin", "people", query, groupId, role, status, mfa],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/users", {
          params: {
            query: {
              q: query || undefined,
              group_id: groupId || undefined,
              role: role || undefined,
              status: status || undefined,
              mfa: mfa ? mfa === "on" : undefined,
              cursor: pageParam,
              limit: 50,
            },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: PEOPLE_REFRESH_MS,
  });
  const rows = people.data?.pages.flatMap((p) => p.items) ?? [];
  const groupName = new Map(groups.data?.items.map((g) => [g.id, g.name]));
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.people.title")}</h1>
        <Link className="button primary" to="/admin/invites/new">
          {t("invites.invite_someone")}
        </Link>
      </div>
      <form className="admin-filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={ids.q}>{t("people.search")}</label>
          <input id={ids.q} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={ids.group}>{t("people.group")}</label>
          <select id={ids.group} value={groupId} onChange={(e) => setGroupId(e.target.value)}>
            <option value="">{t("people.any_group")}</option>
            {groups.data?.items.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.role}>{t("people.role")}</label>
          <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">{t("people.any_role")}</option>
            {roles.data?.items.map((r) => (
              <option key={r.key} value={r.key}>
                {roleName(r.key)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.status}>{t("people.status")}</label>
          <select id={ids.status} value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
            <option value="">{t("people.any_status")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`status.user.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.mfa}>{t("person.two_factor")}</label>
          <select id={ids.mfa} value={mfa} onChange={(e) => setMfa(e.target.value as Mfa | "")}>
            <option value="">{t("people.any_mfa")}</option>
            <option value="on">{t("people.mfa_on")}</option>
            <option value="off">{t("person.mfa_off")}</option>
          </select>
        </div>
      </form>
      <AdminError error={people.error} />
      {people.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p role="status">{t("people.none")}</p>
      ) : (
        <DataTable
          caption={t("sections.people.title")}
          rows={rows}
          rowKey={(u) => u.id}
          columns={[
            { header: t("people.name"), cell: (u) => <Link to={`/admin/people/${u.id}`}>{u.display_name}</Link> },
            { header: t("people.login"), cell: (u) => u.email ?? u.username ?? "–" },
            { header: t("people.employee_id"), cell: (u) => u.employee_id ?? "–" },
            { header: t("people.role"), cell: (u) => roleName(u.role) },
            { header: t("people.groups"), cell: (u) => u.group_ids.map((g) => groupName.get(g) ?? "?").join(", ") || "–" },
            { header: t("people.status"), cell: (u) => <StatusTag kind="user" status={u.status} /> },
            { header: t("people.last_login"), cell: (u) => when(u.last_login_at, i18n.language) },
          ]}
        />
      )}
      {people.hasNextPage && (
        <button type="button" onClick={() => void people.fetchNextPage()} disabled={people.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </>
  );
}
