// Turns an API problem into words for a person, in their language.
import type { TFunction } from "i18next";
import { ApiError } from "../api/client";

export function problemText(t: TFunction, error: unknown): string {
  if (!(error instanceof ApiError)) {
    return t("errors.network");
  }
  if (error.status === 429) {
    const seconds = error.retryAfter ?? 60;
    return t("errors.rate_limited", { minutes: Math.max(1, Math.ceil(seconds / 60)), seconds });
  }
  const key = `errors.codes.${error.code}`;
  const known = t(key, { defaultValue: "" });
  if (known) return known;
  if (error.status === 410) return t("errors.gone");
  if (error.status === 404) return t("errors.not_found");
  if (error.status === 403) return t("errors.forbidden");
  if (error.status >= 500) return t("errors.server");
  return error.message || t("errors.unknown");
}
