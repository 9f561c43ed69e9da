// Invitations: pending, accepted, expired and withdrawn ones with resend and withdraw,
// the organisation's daily cap, and the form to invite one person.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, DataTable, GroupChecklist, RoleSelect, StatusTag, useRoleName, when } from "./lib";

const TABS = ["pending", "accepted", "expired", "revoked"] as const;
type Tab = (typeof TABS)[number];

export function useOrg() {
  return useQuery({ queryKey: ["admin", "org"], queryFn: () => unwrap(api.GET("/api/v1/org")), staleTime: 60_000 });
}

export function Invites() {
  const { t } = useTranslation(NS);
  const [tab, setTab] = useState<Tab>("pending");
  const org = useOrg();
  const sent = (useLocation().state as { sent?: string } | null)?.sent;
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.invites.title")}</h1>
        <div className="row">
          <Link className="button primary" to="/admin/invites/new">
            {t("invites.invite_someone")}
          </Link>
          <Link className="button" to="/admin/invites/import">
            {t("import.title")}
          </Link>
        </div>
      </div>
      {sent && <p role="status">{t("invites.sent_to", { email: sent })}</p>}
      {org.data && <p className="muted">{t("invites.cap", { count: org.data.invite_daily_cap, days: org.data.invite_ttl_days })}</p>}
      <div className="tabs" role="group" aria-label={t("invites.show")}>
        {TABS.map((s) => (
          <button key={s} type="button" aria-pressed={tab === s} onClick={() => setTab(s)}>
            {t(`status.invite.${s}`)}
          </button>
        ))}
      </div>
      <InviteTable status={tab} />
    </>
  );
}

function InviteTable({ status }: { status: Tab }) {
  const { t, i18n } = useTranslation(NS);
  const roleName = useRoleName();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const invites = useInfiniteQuery({
    queryKey: ["admin", "invites", status],
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/invites", { params: { query: { status, cursor: pageParam, limit: 50 } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  async function act(invite: Schemas["InviteOut"], action: "resend" | "revoke") {
    setError(null);
    setDone("");
    const path = { params: { path: { invite_id: invite.id } } };
    try {
      if (action === "resend") await unwrap(api.POST("/api/v1/invites/{invite_id}/resend", path));
      else await unwrap(api.DELETE("/api/v1/invites/{invite_id}", path));
      setDone(t(action === "resend" ? "invites.resent" : "invites.revoked", { email: invite.email }));
      await queryClient.invalidateQueries({ queryKey: ["admin", "invites"] });
    } catch (e) {
      setError(e);
    }
  }
  const rows = invites.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <AdminError error={error ?? invites.error} />
      {done && <p role="status">{done}</p>}
      {invites.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("invites.none")}</p>
      ) : (
        <DataTable
          caption={t(`status.invite.${status}`)}
          rows={rows}
          rowKey={(i) => i.id}
          columns={[
            { header: t("invites.email"), cell: (i) => i.email },
            { header: t("people.name"), cell: (i) => i.display_name || "–" },
            { header: t("people.role"), cell: (i) => roleName(i.role) },
            {
              header: t("invites.sent"),
              cell: (i) => (
                <>
                  {when(i.last_sent_at, i18n.language)}
                  {i.sent_count > 1 && ` (${t("invites.times", { count: i.sent_count })})`}
                </>
              ),
            },
            { header: t("invites.expires"), cell: (i) => when(i.expires_at, i18n.language) },
            { header: t("people.status"), cell: (i) => <StatusTag kind="invite" status={i.status} /> },
            {
              header: t("invites.actions"),
              className: "row",
              cell: (i) => (
                <>
                  {(i.status === "pending" || i.status === "expired") && (
                    <button type="button" onClick={() => void act(i, "resend")} aria-label={t("invites.resend_to", { email: i.email })}>
                      {t("invites.resend")}
                    </button>
                  )}
                  {i.status === "pending" && (
                    <button type="button" onClick={() => void act(i, "revoke")} aria-label={t("invites.revoke_for", { email: i.email })}>
                      {t("invites.revoke")}
                    </button>
                  )}
                </>
              ),
            },
          ]}
        />
      )}
      {invites.hasNextPage && (
        <button type="button" onClick={() => void invites.fetchNextPage()} disabled={invites.isFetchingNextPage}>
          {t("common.more")}
        </button>
      )}
    </>
  );
}

export function InviteNew() {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState("member");
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function send() {
    setBusy(true);
    setError(null);
    try {
      await unwrap(api.POST("/api/v1/invites", { body: { email, display_name: name, role, group_ids: groupIds } }));
      await queryClient.invalidateQueries({ queryKey: ["admin", "invites"] });
      navigate("/admin/invites", { state: { sent: email } });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="invite-one">
      <h1 id="invite-one">{t("invites.invite_someone")}</h1>
      <p className="muted">{t("invites.invite_intro")}</p>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <Field label={t("invites.email")} type="email" value={email} onChange={setEmail} autoComplete="off" />
        <Field label={t("people.name")} value={name} onChange={setName} required={false} hint={t("invites.name_hint")} />
        <RoleSelect label={t("people.role")} value={role} onChange={setRole} />
        <GroupChecklist legend={t("people.groups")} value={groupIds} onChange={setGroupIds} />
        <AdminError error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t("invites.send")}
        </button>
      </form>
    </section>
  );
}
