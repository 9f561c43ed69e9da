// One person: who they are, their role and groups (changeable), how they sign in and
// their 2FA, their sessions, invitations and codes, deactivation (which first says what it
// ends) and erasure.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { hasPermission, Loading, useMe } from "../auth";
import { NS } from "./i18n";
import { AdminError, GroupChecklist, RoleSelect, StatusTag, useRoleName, when } from "./lib";
import { Sessions, SignIn } from "./personAccess";
import { Erase } from "./personErase";
import { PersonOnboarding } from "./personOnboarding";

type User = Schemas["UserOut"];

export function Person() {
  const { t, i18n } = useTranslation(NS);
  const { userId = "" } = useParams();
  const user = useQuery({
    queryKey: ["admin", "person", userId],
    queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: userId } } })),
  });
  const roleName = useRoleName();
  const me = useMe();
  const may = (permission: string) => hasPermission(me.data, permission);
  if (user.error) return <AdminError error={user.error} />;
  if (!user.data) return <Loading />;
  const u = user.data;
  return (
    <>
      <p>
        <Link to="/admin/people">{t("person.back")}</Link>
      </p>
      <h1>
        {u.display_name} <StatusTag kind="user" status={u.status} />
      </h1>
      <section className="panel" aria-labelledby="person-facts">
        <h2 id="person-facts">{t("person.facts")}</h2>
        <dl className="facts">
          <dt>{t("people.login")}</dt>
          <dd>{u.email ?? u.username ?? "–"}</dd>
          <dt>{t("people.employee_id")}</dt>
          <dd>{u.employee_id ?? "–"}</dd>
          <dt>{t("people.role")}</dt>
          <dd>{roleName(u.role)}</dd>
          <dt>{t("person.email_verified")}</dt>
          <dd>{u.email ? (u.email_verified ? t("person.yes") : t("person.no")) : "–"}</dd>
          <dt>{t("person.created")}</dt>
          <dd>{when(u.created_at, i18n.language)}</dd>
          <dt>{t("people.last_login")}</dt>
          <dd>{when(u.last_login_at, i18n.language)}</dd>
        </dl>
      </section>
      {u.status === "erased" ? (
        <p role="status" className="warn-note">
          {t("erase.done")}
        </p>
      ) : (
        <>
          <Access user={u} />
          <SignIn user={u} />
          <Sessions user={u} />
          {may("users.invite") && <PersonOnboarding user={u} />}
          <Deactivation user={u} />
          {may("compliance.manage") && u.id !== me.data?.id && <Erase user={u} />}
        </>
      )}
    </>
  );
}

function Access({ user }: { user: User }) {
  const { t } = useTranslation(NS);
  const queryClient = useQueryClient();
  const [role, setRole] = useState(user.role);
  const [groupIds, setGroupIds] = useState<string[]>(user.group_ids);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  async function save() {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const body = { role, group_ids: groupIds };
      const out = await unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } }, body }));
      queryClient.setQueryData(["admin", "person", user.id], out);
      await queryClient.invalidateQueries({ queryKey: ["admin", "people"] });
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel" aria-labelledby="person-access">
      <h2 id="person-access">{t("person.access")}</h2>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <RoleSelect label={t("people.role")} value={role} onChange={setRole} />
        <GroupChecklist
          legend={t("people.groups")}
          value={groupIds}
          onChange={setGroupIds}
          empty={t("person.no_groups")}
        />
        <AdminError error={error} />
        {saved && <p role="status">{t("common.saved")}</p>}
        <button type="submit" className="primary" disabled={busy}>
          {t("common.save")}
        </button>
      </form>
    </section>
  );
}

function Deactivation({ user }: { user: User }) {
  const { t } = useTranslation(NS);
  const me = useMe();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const active = user.status !== "deactivated";
  async function act(action: "deactivate" | "reactivate") {
    setBusy(true);
    setError(null);
    try {
      const path = { params: { path: { user_id: user.id } } };
      const out = await unwrap(
        action === "deactivate"
          ? api.POST("/api/v1/users/{user_id}/deactivate", path)
          : api.POST("/api/v1/users/{user_id}/reactivate", path),
      );
      queryClient.setQueryData(["admin", "person", user.id], out);
      await queryClient.invalidateQueries({ queryKey: ["admin", "people"] });
      setConfirming(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  if (user.id === me.data?.id) return null;
  return (
    <section className="panel" aria-labelledby="person-deactivation">
      <h2 id="person-deactivation">{active ? t("person.deactivate_title") : t("person.reactivate_title")}</h2>
      {active ? (
        <>
          <p>{t("person.deactivate_what")}</p>
          <ul>
            <li>{t("person.deactivate_sessions")}</li>
            <li>{t("person.deactivate_chat")}</li>
            <li>{t("person.deactivate_onboarding")}</li>
            <li>{t("person.deactivate_api_keys")}</li>
          </ul>
          <p className="muted">{t("person.deactivate_keeps")}</p>
          {confirming ? (
            <div className="confirm" role="group" aria-label={t("person.confirm_label")}>
              <p>{t("person.confirm", { name: user.display_name })}</p>
              <div className="row">
                <button type="button" className="danger" disabled={busy} onClick={() => void act("deactivate")}>
                  {t("person.deactivate_now", { name: user.display_name })}
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  {t("common.cancel")}
                </button>
              </div>
            </div>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              {t("person.deactivate")}
            </button>
          )}
        </>
      ) : (
        <>
          <p>{t("person.reactivate_what")}</p>
          <button type="button" className="primary" disabled={busy} onClick={() => void act("reactivate")}>
            {t("person.reactivate")}
          </button>
        </>
      )}
      <AdminError error={error} />
    </section>
  );
}
