// Small pieces several pages show the same way.
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { ErrorNote } from "./forms";

/** A count beside a link (unread posts, messages, conversations); nothing at zero, "999+"
 * from 1,000 (where the server stops counting a channel's unread posts). */
export function Badge({ count, label }: { count: number; label: string }) {
  if (count <= 0) return null;
  return (
    <span className="badge" aria-label={label}>
      {count > 999 ? "999+" : count}
    </span>
  );
}

/** What a page shows for something that is not there or not shared with the person. */
export function Missing(props: { error: unknown; back: string; backLabel: string; heading?: (title: string) => ReactNode }) {
  const { t } = useTranslation();
  const title = t("errors.page_not_found");
  return (
    <section>
      {props.heading ? props.heading(title) : <h1>{title}</h1>}
      <ErrorNote error={props.error} />
      <Link to={props.back}>{props.backLabel}</Link>
    </section>
  );
}
