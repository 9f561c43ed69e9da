// The admin console: its own navigation and routes under /admin, each section shown only
// to whoever holds its permission (the API checks the same permission again).
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, Route, Routes } from "react-router";
import { useMe } from "../auth";
import "./admin.css";
import { BatchNew, Codes } from "./codes";
import { ApiKeys } from "./apiKeys";
import { Audit } from "./audit";
import { ChannelPage } from "./channel";
import { ChannelNew, Channels, ChannelSettings } from "./channels";
import { Composer } from "./composer";
import { Batch } from "./batch";
import { Domains } from "./domains";
import { GroupPage } from "./group";
import { GroupNew, Groups } from "./groups";
import { Home } from "./Home";
import { NS } from "./i18n";
import { OAuthClients } from "./oauthClients";
import { InviteImport } from "./importer";
import { InviteNew, Invites } from "./invites";
import NotAllowed from "./NotAllowed";
import { People } from "./people";
import { Person } from "./person";
import { PostPage } from "./post";
import { Sso } from "./sso";
import { SsoDoctor } from "./ssoDoctor";
import { SsoIdp } from "./ssoIdp";
import { SsoTestPage } from "./ssoTest";
import { SsoNew } from "./ssoWizard";
import { Security } from "./security";
import { SECTIONS, allowedSections, type Section } from "./sections";

function Guard({ section, children }: { section: Section; children: ReactNode }) {
  const me = useMe();
  return me.data?.permissions.includes(section.permission) ? <>{children}</> : <NotAllowed />;
}

function Later({ section }: { section: Section }) {
  const { t } = useTranslation(NS);
  return (
    <section className="panel" aria-labelledby="later-title">
      <h1 id="later-title">{t(`sections.${section.key}.title`)}</h1>
      <p>{t("later.text")}</p>
      <p>
        {t("later.api")} <code>{section.api}</code> ·{" "}
        <a href="/schema/swagger">{t("later.docs")}</a>
      </p>
    </section>
  );
}

function Missing() {
  const { t } = useTranslation(NS);
  return (
    <section className="panel narrow" aria-labelledby="missing-title">
      <h1 id="missing-title">{t("missing.title")}</h1>
      <NavLink to="/admin">{t("missing.back")}</NavLink>
    </section>
  );
}

const PAGES: Record<string, { path: string; element: ReactNode }[]> = {
  people: [
    { path: "people", element: <People /> },
    { path: "people/:userId", element: <Person /> },
  ],
  invites: [
    { path: "invites", element: <Invites /> },
    { path: "invites/new", element: <InviteNew /> },
    { path: "invites/import", element: <InviteImport /> },
  ],
  codes: [
    { path: "codes", element: <Codes /> },
    { path: "codes/new", element: <BatchNew /> },
    { path: "codes/:batchId", element: <Batch /> },
  ],
  groups: [
    { path: "groups", element: <Groups /> },
    { path: "groups/new", element: <GroupNew /> },
    { path: "groups/:groupId", element: <GroupPage /> },
  ],
  feeds: [
    { path: "feeds", element: <Channels /> },
    { path: "feeds/new", element: <ChannelNew /> },
    { path: "feeds/:channelId", element: <ChannelPage /> },
    { path: "feeds/:channelId/settings", element: <ChannelSettings /> },
    { path: "feeds/:channelId/new-post", element: <Composer /> },
    { path: "feeds/posts/:postId", element: <PostPage /> },
  ],
  domains: [{ path: "domains", element: <Domains /> }],
  sso: [
    { path: "sso", element: <Sso /> },
    { path: "sso/new", element: <SsoNew /> },
    { path: "sso/idps/:idpId", element: <SsoIdp /> },
    { path: "sso/doctor", element: <SsoDoctor /> },
    { path: "sso/test", element: <SsoTestPage /> },
  ],
  api_keys: [{ path: "api-keys", element: <ApiKeys /> }],
  oauth_clients: [{ path: "oauth-apps", element: <OAuthClients /> }],
  audit: [{ path: "audit", element: <Audit /> }],
  security: [{ path: "security", element: <Security /> }],
};

export default function Console() {
  const { t } = useTranslation(NS);
  const me = useMe();
  const mine = allowedSections(me.data);
  return (
    <div className="admin">
      <nav className="admin-nav" aria-label={t("nav.label")}>
        <NavLink to="/admin" end>
          {t("home.title")}
        </NavLink>
        {mine.map((s) => (
          <NavLink key={s.key} to={`/admin/${s.path}`}>
            {t(`sections.${s.key}.title`)}
          </NavLink>
        ))}
      </nav>
      <div className="admin-page">
        <Routes>
          <Route index element={<Home />} />
          {SECTIONS.flatMap((s) =>
            (PAGES[s.key] ?? [{ path: `${s.path}/*`, element: <Later section={s} /> }]).map((page) => (
              <Route key={page.path} path={page.path} element={<Guard section={s}>{page.element}</Guard>} />
            )),
          )}
          <Route path="*" element={<Missing />} />
        </Routes>
      </div>
    </div>
  );
}
