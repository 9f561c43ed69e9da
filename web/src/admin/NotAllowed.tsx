// What someone without the permission sees at a console address: a page, never a blank.
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { NS } from "./i18n";

export default function NotAllowed() {
  const { t } = useTranslation(NS);
  return (
    <section className="panel narrow" aria-labelledby="not-allowed-title">
      <h1 id="not-allowed-title">{t("denied.title")}</h1>
      <p>{t("denied.text")}</p>
      <Link to="/feed">{t("denied.back")}</Link>
    </section>
  );
}
