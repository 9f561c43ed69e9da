// The console's home: the sections this person may use, each saying what it is for.
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useMe } from "../auth";
import { NS } from "./i18n";
import { allowedSections } from "./sections";

export function Home() {
  const { t } = useTranslation(NS);
  const me = useMe();
  const mine = allowedSections(me.data);
  return (
    <>
      <h1>{t("home.title")}</h1>
      <p className="muted">{t("home.intro", { org: me.data?.org.name ?? "" })}</p>
      <ul className="admin-sections" aria-label={t("home.sections")}>
        {mine.map((s) => (
          <li key={s.key} className="panel">
            <h2>
              <Link to={`/admin/${s.path}`}>{t(`sections.${s.key}.title`)}</Link>
            </h2>
            <p>{t(`sections.${s.key}.text`)}</p>
            {!s.ready && <span className="tag">{t("home.api_only")}</span>}
          </li>
        ))}
      </ul>
    </>
  );
}
