// Attribute mapping and group rules of an IdP, with a live preview: the mapping and rules
// as being edited, applied by the API to the attributes the IdP last sent (nothing saved
// until "Save").
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { NS } from "./i18n";
import { AdminError, DataTable, useGroups, useRoleName, useRoles, when } from "./lib";
import { FIELDS, OIDC_PRESETS, PRESETS, type Idp, type Preset } from "./ssoShared";

type Rule = Schemas["GroupRule"];
type Field = (typeof FIELDS)[number];
type Names = Record<Field, string>;

function splitNames(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((n) => n.trim())
    .filter(Boolean);
}

function body(preset: string, names: Names, rules: Rule[]): Schemas["PreviewIn"] {
  const attribute_map: Schemas["AttributeMap"] = {};
  for (const field of FIELDS) {
    const list = splitNames(names[field]);
    if (list.length) attribute_map[field] = list;
  }
  const group_rules = rules
    .filter((r) => r.value.trim())
    .map((r) => ({ value: r.value.trim(), effect: r.effect ?? "map", group_id: r.group_id || null, role: r.role || null }));
  return { preset: preset as Preset, attribute_map, group_rules };
}

/** The value once it has stayed the same for `ms` (one preview per pause in typing). */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function Mapping({ idp }: { idp: Idp }) {
  const { t, i18n } = useTranslation(NS);
  const queryClient = useQueryClient();
  const groups = useGroups();
  const roles = useRoles();
  const roleName = useRoleName();
  const [preset, setPreset] = useState(idp.preset);
  const [names, setNames] = useState<Names>(
    () => Object.fromEntries(FIELDS.map((f) => [f, (idp.attribute_map[f] ?? []).join(", ")])) as Names,
  );
  const [rules, setRules] = useState<Rule[]>(idp.group_rules);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const ids = { preset: useId(), rules: useId() };
  const edited = useSettled(JSON.stringify(body(preset, names, rules)), 300);
  const preview = useQuery({
    queryKey: ["admin", "sso", "preview", idp.id, edited],
    queryFn: () =>
      unwrap(api.POST("/api/v1/sso/idps/{idp_id}/preview", { params: { path: { idp_id: idp.id } }, body: JSON.parse(edited) })),
    placeholderData: (previous) => previous,
  });
  const shown = new Map(preview.data?.fields.map((f) => [f.field, f]));
  const groupName = new Map(groups.data?.items.map((g) => [g.id, g.name]));
  const setRule = (n: number, change: Partial<Rule>) => setRules(rules.map((r, i) => (i === n ? { ...r, ...change } : r)));
  async function save() {
    setError(null);
    setSaved(false);
    try {
      const { preset: p, attribute_map, group_rules } = body(preset, names, rules);
      await unwrap(
        api.PATCH("/api/v1/sso/idps/{idp_id}", {
          params: { path: { idp_id: idp.id } },
          body: { preset: p, attribute_map, group_rules },
        }),
      );
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ["admin", "sso"] });
    } catch (e) {
      setError(e);
    }
  }
  const attempt = preview.data?.attempt;
  return (
    <section className="panel" aria-labelledby="sso-mapping">
      <h2 id="sso-mapping">{t("sso.mapping.title")}</h2>
      <p className="muted">{t("sso.mapping.intro")}</p>
      <div className="field narrow-admin">
        <label htmlFor={ids.preset}>{t("sso.mapping.preset")}</label>
        <select id={ids.preset} value={preset} onChange={(e) => setPreset(e.target.value)}>
          {(idp.kind === "oidc" ? OIDC_PRESETS : PRESETS).map((p) => (
            <option key={p} value={p}>
              {t(idp.kind === "oidc" ? `sso.oidc.preset.${p}` : `sso.preset.${p}`)}
            </option>
          ))}
        </select>
      </div>
      <p role="status" className="muted">
        {attempt
          ? t("sso.mapping.tried_on", { name_id: attempt.name_id, when: when(attempt.created_at, i18n.language) })
          : preview.data
            ? t("sso.mapping.no_attempt")
            : ""}
      </p>
      <DataTable
        caption={t("sso.mapping.title")}
        stack
        rows={FIELDS}
        rowKey={(field) => field}
        rowClassName={(field) => (attempt && !shown.get(field)?.attribute && field === "email" ? "problem" : undefined)}
        columns={[
          { header: t("sso.mapping.field"), cell: (field) => t(`sso.field.${field}`) },
          {
            header: t("sso.mapping.names"),
            cell: (field) => {
              const got = shown.get(field);
              return (
                <>
                  <input
                    aria-label={t("sso.mapping.names_for", { field: t(`sso.field.${field}`) })}
                    value={names[field]}
                    onChange={(e) => setNames({ ...names, [field]: e.target.value })}
                    spellCheck={false}
                  />
                  {got && <p className="hint breakable">{t("sso.mapping.looked_for", { names: got.looked_for.join(", ") })}</p>}
                </>
              );
            },
          },
          {
            header: t("sso.mapping.received"),
            className: "breakable",
            cell: (field) => {
              const got = shown.get(field);
              return got?.attribute ? (
                <>
                  {got.values.join(", ")}
                  <br />
                  <small className="muted">{got.attribute}</small>
                </>
              ) : attempt ? (
                <span className="muted">{t("sso.mapping.not_received")}</span>
              ) : (
                "–"
              );
            },
          },
        ]}
      />
      <h3 id={ids.rules}>{t("sso.rules.title")}</h3>
      <p className="muted">{t("sso.rules.intro")}</p>
      {rules.map((rule, n) => (
        <fieldset key={n} className="rule" aria-label={t("sso.rules.rule", { n: n + 1 })}>
          <label>
            {t("sso.rules.value")}{" "}
            <input value={rule.value} onChange={(e) => setRule(n, { value: e.target.value })} spellCheck={false} />
          </label>
          <label>
            {t("sso.rules.effect")}{" "}
            <select value={rule.effect ?? "map"} onChange={(e) => setRule(n, { effect: e.target.value as Rule["effect"] })}>
              {(["map", "allow", "deny"] as const).map((x) => (
                <option key={x} value={x}>
                  {t(`sso.rules.effect_${x}`)}
                </option>
              ))}
            </select>
          </label>
          {(rule.effect ?? "map") === "map" && (
            <>
              <label>
                {t("sso.rules.group")}{" "}
                <select value={rule.group_id ?? ""} onChange={(e) => setRule(n, { group_id: e.target.value || null })}>
                  <option value="">{t("sso.rules.no_group")}</option>
                  {groups.data?.items.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.name}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t("sso.rules.role")}{" "}
                <select value={rule.role ?? ""} onChange={(e) => setRule(n, { role: e.target.value || null })}>
                  <option value="">{t("sso.rules.no_role")}</option>
                  {roles.data?.items.map((r) => (
                    <option key={r.key} value={r.key}>
                      {roleName(r.key)}
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
          <button type="button" onClick={() => setRules(rules.filter((_, i) => i !== n))}>
            {t("sso.rules.remove")}
          </button>
        </fieldset>
      ))}
      <button type="button" onClick={() => setRules([...rules, { value: "", effect: "map", group_id: null, role: null }])}>
        {t("sso.rules.add")}
      </button>
      {preview.data && preview.data.outcome !== "no_attempt" && (
        <div className={preview.data.outcome === "allowed" ? "ok-note" : "warn-note"} aria-live="polite">
          <p>
            <strong>{t(`sso.preview.${preview.data.outcome}`)}</strong>{" "}
            {preview.data.outcome === "denied"
              ? t(`sso.reason.${preview.data.reason}`)
              : [
                  preview.data.group_ids?.length
                    ? t("sso.preview.groups", { groups: preview.data.group_ids.map((g) => groupName.get(g) ?? g).join(", ") })
                    : t("sso.preview.no_groups"),
                  preview.data.role ? t("sso.preview.role", { role: roleName(preview.data.role) }) : t("sso.preview.default_role"),
                ].join(" ")}
          </p>
        </div>
      )}
      <AdminError error={error ?? preview.error} />
      {saved && <p role="status">{t("common.saved")}</p>}
      <p>
        <button type="button" className="primary" onClick={() => void save()}>
          {t("sso.mapping.save")}
        </button>
      </p>
    </section>
  );
}
