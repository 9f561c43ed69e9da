// The console's sections and the permission each needs (the same the API's guards ask
// for). A section not yet built in the console says so and names its API.
import type { Schemas } from "../api/client";

export type Section = {
  key: string;
  path: string;
  permission: string;
  ready: boolean;
  api: string;
};

export const SECTIONS: readonly Section[] = [
  { key: "people", path: "people", permission: "users.manage", ready: true, api: "/api/v1/users" },
  { key: "invites", path: "invites", permission: "users.invite", ready: true, api: "/api/v1/invites" },
  { key: "codes", path: "codes", permission: "users.invite", ready: true, api: "/api/v1/access-codes" },
  { key: "groups", path: "groups", permission: "groups.manage", ready: true, api: "/api/v1/groups" },
  { key: "feeds", path: "feeds", permission: "feeds.manage", ready: true, api: "/api/v1/channels" },
  { key: "domains", path: "domains", permission: "domains.manage", ready: true, api: "/api/v1/domains" },
  { key: "sso", path: "sso", permission: "sso.manage", ready: true, api: "/api/v1/sso/saml" },
  { key: "security", path: "security", permission: "org.manage", ready: true, api: "/api/v1/org" },
  { key: "api_keys", path: "api-keys", permission: "api_keys.manage", ready: true, api: "/api/v1/api-keys" },
  { key: "oauth_clients", path: "oauth-apps", permission: "oauth_clients.manage", ready: true, api: "/api/v1/oauth/clients" },
  { key: "audit", path: "audit", permission: "audit.read", ready: true, api: "/api/v1/audit-events" },
];

export function allowedSections(me: Schemas["MeOut"] | undefined): Section[] {
  return SECTIONS.filter((s) => me?.permissions.includes(s.permission));
}
