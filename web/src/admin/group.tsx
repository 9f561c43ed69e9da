// One group: its members (add by searching people, remove), the channels it is an
// audience of or posts to, its name, and deletion, which first says what it changes.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useDeferredValue, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { hasPermission, Loading, useMe } from "../auth";
import { Field } from "../components/forms";
import { KindSelect, type Kind } from "./groups";
import { NS } from "./i18n";
import { AdminError, Confirm, DataTable, StatusTag, useAction } from "./lib";

type Group = Schemas["GroupOut"];

function useRefresh(groupId: string) {
  const queryClient = useQueryClient();
  return async () => {
    await queryClient.invalidateQueries({ queryKey: ["admin", "group", groupId] });
    await queryClient.invalidateQueries({ queryKey: ["admin", "groups"] });
    await queryClient.invalidateQueries({ queryKey: ["admin", "people"] });
  };
}

export function GroupPage() {
  const { t } = useTranslation(NS);
  const { groupId = "" } = useParams();
  const created = (useLocation().state as { created?: boolean } | null)?.created;
  const group = useQuery({
    queryKey: ["admin", "group", groupId],
    queryFn: () => unwrap(api.GET("/api/v1/groups/{group_id}", { params: { path: { group_id: groupId } } })),
  });
  if (group.error) return <AdminError error={group.error} />;
  if (!group.data) return <Loading />;
  const g = group.data;
  return (
    <>
      <p>
        <Link to="/admin/groups">{t("groups.back")}</Link>
      </p>
      <h1>
        {g.name} <span className="tag">{t(`groups.kinds.${g.kind}`, { defaultValue: g.kind })}</span>
      </h1>
      {created && <p role="status">{t("groups.created")}</p>}
      {g.description && <p className="muted">{g.description}</p>}
      <Members group={g} />
      <Channels group={g} />
      <Details key={`${g.name}|${g.kind}|${g.description}`} group={g} />
      <Deletion group={g} />
    </>
  );
}

function Members({ group }: { group: Group }) {
  const { t } = useTranslation(NS);
  const me = useMe();
  const refresh = useRefresh(group.id);
  const action = useAction();
  const [done, setDone] = useState("");
  const members = useInfiniteQuery({
    queryKey: ["admin", "group", group.id, "members"],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/groups/{group_id}/members", {
          params: { path: { group_id: group.id }, query: { cursor: pageParam, limit: 50 } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const linkPeople = hasPermission(me.data, "users.manage");
  async function add(user: Schemas["UserOut"]) {
    setDone("");
    const path = { group_id: group.id };
    if (await action.run(() => unwrap(api.POST("/api/v1/groups/{group_id}/members", { params: { path }, body: { user_ids: [user.id] } })))) {
      setDone(t("groups.added", { name: user.display_name, group: group.name }));
      await refresh();
    }
  }
  async function remove(user: Schemas["UserOut"]) {
    setDone("");
    const path = { group_id: group.id, user_id: user.id };
    if (await action.run(() => unwrap(api.DELETE("/api/v1/groups/{group_id}/members/{user_id}", { params: { path } })))) {
      setDone(t("groups.removed", { name: user.display_name, group: group.name }));
      await refresh();
    }
  }
  const rows = members.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="panel" aria-labelledby="group-members">
      <h2 id="group-members">{t("groups.members_title", { count: group.member_count })}</h2>
      <PeopleSearch group={group} onAdd={(u) => void add(u)} busy={action.busy} />
      <AdminError error={action.error ?? members.error} />
      {done && <p role="status">{done}</p>}
      {members.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("groups.no_members")}</p>
      ) : (
        <DataTable
          caption={t("groups.members")}
          rows={rows}
          rowKey={(u) => u.id}
          columns={[
            {
              header: t("people.name"),
              cell: (u) => (linkPeople ? <Link to={`/admin/people/${u.id}`}>{u.display_name}</Link> : u.display_name),
            },
            { header: t("people.login"), cell: (u) => u.email ?? u.username ?? "–" },
            { header: t("people.status"), cell: (u) => <StatusTag kind="user" status={u.status} /> },
            {
              header: t("invites.actions"),
              cell: (u) => (
                <button
                  type="button"
                  disabled={action.busy}
                  onClick={() => void remove(u)}
                  aria-label={t("groups.remove_from", { name: u.display_name, group: group.name })}
                >
                  {t("groups.remove")}
                </button>
              ),
            },
          ]}
        />
      )}
      {members.hasNextPage && (
        <button type="button" onClick={() => void members.fetchNextPage()} disabled={members.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </section>
  );
}

/** People found by name, address or employee id, each addable unless already in. */
function PeopleSearch({ group, onAdd, busy }: { group: Group; onAdd: (u: Schemas["UserOut"]) => void; busy: boolean }) {
  const { t } = useTranslation(NS);
  const [q, setQ] = useState("");
  const query = useDeferredValue(q.trim());
  const id = useId();
  const found = useQuery({
    queryKey: ["admin", "people", "find", query],
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { q: query, limit: 8 } } })),
    enabled: query.length > 0,
  });
  const items = query ? (found.data?.items ?? []) : [];
  return (
    <div className="people-search">
      <div className="field">
        <label htmlFor={id}>{t("groups.find_people")}</label>
        <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} autoComplete="off" />
      </div>
      {query && found.isSuccess && items.length === 0 && <p className="muted">{t("people.none")}</p>}
      {items.length > 0 && (
        <ul className="found" aria-label={t("groups.found")}>
          {items.map((u) => {
            const member = u.group_ids.includes(group.id);
            return (
              <li key={u.id}>
                <span>
                  <strong>{u.display_name}</strong> <span className="muted">{u.email ?? u.username}</span>
                </span>
                {member ? (
                  <span className="tag">{t("groups.already")}</span>
                ) : (
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() => onAdd(u)}
                    aria-label={t("groups.add_to", { name: u.display_name, group: group.name })}
                  >
                    {t("groups.add")}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function useGroupChannels(groupId: string) {
  return useQuery({
    queryKey: ["admin", "group", groupId, "channels"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/groups/{group_id}/channels", { params: { path: { group_id: groupId } } })),
  });
}

function Channels({ group }: { group: Group }) {
  const { t } = useTranslation(NS);
  const me = useMe();
  const channels = useGroupChannels(group.id);
  const moderator = hasPermission(me.data, "feeds.manage");
  const items = channels.data?.items ?? [];
  return (
    <section className="panel" aria-labelledby="group-channels">
      <h2 id="group-channels">{t("groups.channels")}</h2>
      <AdminError error={channels.error} />
      {channels.isSuccess && items.length === 0 && <p>{t("groups.no_channels")}</p>}
      {items.length > 0 && (
        <ul>
          {items.map((c) => (
            <li key={c.id}>
              {moderator ? <Link to={`/admin/feeds/${c.id}`}>{c.name}</Link> : c.name}{" "}
              {c.audience && <span className="tag">{t("groups.audience_of")}</span>}
              {c.posting && <span className="tag">{t("groups.posts_to")}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Details({ group }: { group: Group }) {
  const { t } = useTranslation(NS);
  const refresh = useRefresh(group.id);
  const [name, setName] = useState(group.name);
  const [kind, setKind] = useState<Kind>(group.kind as Kind);
  const [description, setDescription] = useState(group.description);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  async function save() {
    setSaved(false);
    const body = { name, kind, description };
    if (await action.run(() => unwrap(api.PATCH("/api/v1/groups/{group_id}", { params: { path: { group_id: group.id } }, body })))) {
      await refresh();
      setSaved(true);
    }
  }
  return (
    <section className="panel" aria-labelledby="group-details">
      <h2 id="group-details">{t("groups.details")}</h2>
      <form
        className="form narrow-admin"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <Field label={t("groups.name")} value={name} onChange={setName} autoComplete="off" />
        <KindSelect value={kind} onChange={setKind} />
        <Field label={t("groups.description")} value={description} onChange={setDescription} required={false} />
        <AdminError error={action.error} />
        {saved && <p role="status">{t("common.saved")}</p>}
        <button type="submit" className="primary" disabled={action.busy}>
          {t("common.save")}
        </button>
      </form>
    </section>
  );
}

function Deletion({ group }: { group: Group }) {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const channels = useGroupChannels(group.id);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  async function remove() {
    await unwrap(api.DELETE("/api/v1/groups/{group_id}", { params: { path: { group_id: group.id } } }));
    navigate("/admin/groups", { state: { deleted: group.name } });
    queryClient.removeQueries({ queryKey: ["admin", "group", group.id] });
    await queryClient.invalidateQueries({ queryKey: ["admin", "groups"] });
    await queryClient.invalidateQueries({ queryKey: ["admin", "people"] });
  }
  return (
    <section className="panel" aria-labelledby="group-delete">
      <h2 id="group-delete">{t("groups.delete_title")}</h2>
      <p>{t("groups.delete_what")}</p>
      <ul>
        <li>{t("groups.delete_members", { count: group.member_count })}</li>
        {channels.data?.items.map((c) => (
          <li key={c.id}>
            {c.audience &&
              t(c.only_audience_group ? "groups.delete_only_audience" : "groups.delete_audience", { channel: c.name })}
            {c.audience && c.posting && " "}
            {c.posting &&
              t(c.only_poster_group ? "groups.delete_only_poster" : "groups.delete_poster", { channel: c.name })}
          </li>
        ))}
        <li>{t("groups.delete_onboarding")}</li>
      </ul>
      <p className="muted">{t("groups.delete_keeps")}</p>
      {confirming ? (
        <Confirm
          label={t("groups.confirm_label")}
          action={t("groups.delete_now", { name: group.name })}
          busy={action.busy}
          onConfirm={() => void action.run(remove)}
          onCancel={() => setConfirming(false)}
        >
          <p>{t("groups.confirm", { name: group.name })}</p>
        </Confirm>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          {t("groups.delete")}
        </button>
      )}
      <AdminError error={action.error} />
    </section>
  );
}
