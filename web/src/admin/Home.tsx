// The console's home: what needs attention (as far as this person's permissions reach,
// each item linking to where it is fixed), then the sections this person may use.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { NS } from "./i18n";
import { AdminError, when } from "./lib";
import { allowedSections } from "./sections";

// The permissions that reach at least one kind of item (the API answers 403 to others).
const ATTENTION_PERMISSIONS = ["domains.manage", "sso.manage", "org.manage", "users.invite"];

export function Home() {
  const { t } = useTranslation(NS);
  const me = useMe();
  const mine = allowedSections(me.data);
  const mayCheck = ATTENTION_PERMISSIONS.some((p) => me.data?.permissions.includes(p));
  return (
    <>
      <h1>{t("home.title")}</h1>
      <p className="muted">{t("home.intro", { org: me.data?.org.name ?? "" })}</p>
      {mayCheck && <Attention />}
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

function Attention() {
  const { t } = useTranslation(NS);
  const attention = useQuery({
    queryKey: ["admin", "attention"],
    queryFn: () => unwrap(api.GET("/api/v1/org/attention")),
    refetchInterval: 60_000,
  });
  const items = attention.data?.items;
  return (
    <section className="panel attention" aria-labelledby="attention-title">
      <h2 id="attention-title">{t("attention.title")}</h2>
      <AdminError error={attention.error} />
      {items && items.length === 0 && <p role="status">{t("attention.none")}</p>}
      {items && items.length > 0 && (
        <ul aria-labelledby="attention-title">
          {items.map((item, n) => (
            <Item key={n} item={item} />
          ))}
        </ul>
      )}
    </section>
  );
}

function Item({ item }: { item: Schemas["AttentionItem"] }) {
  const { t, i18n } = useTranslation(NS);
  const unknown = item.kind === "sso_failures" && !item.subject;
  const expired = item.kind === "idp_certificate_expiring" && (item.days_left ?? 0) < 0;
  const key = unknown ? "sso_failures_unknown" : expired ? "certificate_expired" : item.kind;
  const days = Math.abs(item.days_left ?? 0);
  const text = t(`attention.${key}`, {
    count: item.kind === "idp_certificate_expiring" ? days : item.count,
    subject: item.subject,
    since: when(item.since, i18n.language),
  });
  return (
    <li className={item.severity === "critical" ? "critical" : undefined}>
      <span className={item.severity === "critical" ? "tag warn" : "tag"}>{t(`attention.severity.${item.severity}`)}</span> {text}{" "}
      {item.link ? <Link to={item.link}>{t(`attention.fix.${item.kind}`)}</Link> : <span className="muted">{t(`attention.fix.${item.kind}`)}</span>}
    </li>
  );
}
