// Who may open the admin console. This file alone is part of the app every employee
// loads (the nav link needs it); the console itself is fetched only when opened.
import type { Schemas } from "../api/client";

/** Holding any of these opens the console (each section asks for its own). */
export const ADMIN_PERMISSIONS = [
  "users.invite",
  "users.manage",
  "groups.manage",
  "feeds.manage",
  "org.manage",
  "sso.manage",
  "domains.manage",
  "audit.read",
  "api_keys.manage",
  "oauth_clients.manage",
] as const;

export function isAdmin(me: Schemas["MeOut"] | undefined): boolean {
  return !!me && ADMIN_PERMISSIONS.some((p) => me.permissions.includes(p));
}
