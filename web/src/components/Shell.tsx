// The signed-in frame: navigation (a bottom bar on a phone, a side bar on a desktop) and
// the page. A session that ends anywhere (another tab, an admin) sends the tab to sign-in.
import { useTranslation } from "react-i18next";
import { NavLink, Outlet, useNavigate } from "react-router";
import { session } from "../api/session";
import { isAdmin } from "../admin/access";
import { useMe } from "../auth";
import { Badge } from "./bits";
import { ChatLive } from "../pages/chat/ChatLive";
import { useUnreadChats } from "../pages/chat/useChat";

export function Shell() {
  const { t } = useTranslation();
  const me = useMe();
  const navigate = useNavigate();
  const unreadChats = useUnreadChats();
  async function signOut() {
    await session.signOut();
    navigate("/signed-out", { replace: true });
  }
  return (
    <ChatLive>
      <div className="shell">
        <a className="skip" href="#main">
          {t("nav.skip")}
        </a>
        <header className="topbar">
          <span className="brand">{me.data?.org.name ?? "Staffroom"}</span>
          <button type="button" className="link" onClick={() => void signOut()}>
            {t("nav.sign_out")}
          </button>
        </header>
        <nav className="mainnav" aria-label={t("nav.main")}>
          <NavLink to="/feed">{t("nav.feed")}</NavLink>
          <NavLink to="/chat">
            {t("nav.chat")}
            <Badge count={unreadChats} label={t("chat.unread_count", { count: unreadChats })} />
          </NavLink>
          <NavLink to="/me">{t("nav.me")}</NavLink>
          {isAdmin(me.data) && <NavLink to="/admin">{t("nav.admin")}</NavLink>}
        </nav>
        <main id="main" className="page" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </ChatLive>
  );
}
