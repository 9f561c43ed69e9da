// Start a conversation with people picked from the directory: one person makes a direct
// conversation (asking twice opens the same one), several a group with a title.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { hasPermission, useMe } from "../../auth";
import { Field, Form } from "../../components/forms";

export function NewConversation() {
  const { t } = useTranslation();
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [q, setQ] = useState("");
  const [picked, setPicked] = useState<Schemas["UserOut"][]>([]);
  const [title, setTitle] = useState("");
  const [announcement, setAnnouncement] = useState(false);
  const people = useQuery({
    queryKey: ["directory", q],
    queryFn: () =>
      unwrap(api.GET("/api/v1/users", { params: { query: { q: q || undefined, status: "active", limit: 20 } } })),
  });
  const candidates = (people.data?.items ?? []).filter(
    (u) => u.id !== me.data?.id && !picked.some((p) => p.id === u.id),
  );
  const kind = announcement ? "announcement" : picked.length === 1 ? "direct" : "group";
  return (
    <section aria-labelledby="new-title">
      <h2 id="new-title">{t("chat.new")}</h2>
      <Form
        submit={t("chat.start")}
        action={async () => {
          const made = await unwrap(
            api.POST("/api/v1/conversations", {
              body: { kind, user_ids: picked.map((p) => p.id), title: kind === "direct" ? "" : title },
            }),
          );
          await queryClient.invalidateQueries({ queryKey: ["conversations"] });
          navigate(`/chat/${made.id}`);
        }}
      >
        <div className="field">
          <label htmlFor="people-search">{t("chat.search_people")}</label>
          <input id="people-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <ul className="people" aria-label={t("chat.people_found")}>
          {candidates.map((u) => (
            <li key={u.id}>
              <button type="button" onClick={() => setPicked([...picked, u])}>
                + {u.display_name}
              </button>
            </li>
          ))}
        </ul>
        {picked.length > 0 && (
          <ul className="picked" aria-label={t("chat.picked")}>
            {picked.map((u) => (
              <li key={u.id}>
                {u.display_name}{" "}
                <button
                  type="button"
                  className="link"
                  aria-label={t("chat.remove_person", { name: u.display_name })}
                  onClick={() => setPicked(picked.filter((p) => p.id !== u.id))}
                >
                  ✕
                </button>
              </li>
            ))}
          </ul>
        )}
        {kind !== "direct" && picked.length > 0 && (
          <Field label={t("chat.group_title")} value={title} onChange={setTitle} required={false} />
        )}
        {hasPermission(me.data, "chat.moderate") && (
          <label className="check">
            <input type="checkbox" checked={announcement} onChange={(e) => setAnnouncement(e.target.checked)} />{" "}
            {t("chat.announcement")}
          </label>
        )}
      </Form>
    </section>
  );
}
