// The audit log's hash chain, checked on the server when the page opens (and on demand):
// intact, or where it breaks, in words.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import { Loading } from "../auth";
import { NS } from "./i18n";
import { AdminError, when } from "./lib";

export function ChainState() {
  const { t, i18n } = useTranslation(NS);
  const check = useQuery({
    queryKey: ["admin", "audit-verification"],
    queryFn: () => unwrap(api.GET("/api/v1/audit-events/verification")),
    staleTime: 0,
  });
  const v = check.data;
  return (
    <section className={v && !v.verified ? "panel chain-broken" : "panel"} aria-labelledby="audit-chain">
      <h2 id="audit-chain">{t("audit_chain.title")}</h2>
      <AdminError error={check.error} />
      {check.isPending ? (
        <Loading />
      ) : v ? (
        <div role="status">
          {v.verified ? (
            <p>
              <span className="tag ok-tag">{t("audit_chain.verified")}</span>{" "}
              {t("audit_chain.intact", { count: v.events, when: when(v.checked_at, i18n.language) })}
            </p>
          ) : (
            <>
              <p>
                <span className="tag warn">{t("audit_chain.broken")}</span>{" "}
                {t("audit_chain.broken_text", { count: v.breaks.length, when: when(v.checked_at, i18n.language) })}
              </p>
              <ul>
                {v.breaks.map((b) => (
                  <li key={`${b.chain_seq}-${b.problem}`}>
                    {t(`audit_chain.problems.${b.problem}`, { seq: b.chain_seq })} <code className="breakable">{b.event_id}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      ) : null}
      <button type="button" onClick={() => void check.refetch()} disabled={check.isFetching}>
        {t("audit_chain.again")}
      </button>
    </section>
  );
}
