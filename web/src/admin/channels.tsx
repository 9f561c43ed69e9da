// Channels (feed moderation): every channel with its audience and who may post, the form
// that creates or changes one, and archiving, which first says what it ends.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Loading, useMe } from "../auth";
import { Field } from "../components/forms";
import { NS } from "./i18n";
import { AdminError, Confirm, DataTable, GroupChecklist, useAction, useGroups } from "./lib";

type Channel = Schemas["ChannelOut"];
type Audience = "everyone" | "groups";
type Posting = "editors" | "groups";

export function useChannels() {
  // Moderators see every channel of the organisation here.
  return useQuery({ queryKey: ["admin", "channels"], queryFn: () => unwrap(api.GET("/api/v1/channels")) });
}

export function useChannel(channelId: string) {
  return useQuery({
    queryKey: ["admin", "channel", channelId],
    queryFn: () => unwrap(api.GET("/api/v1/channels/{channel_id}", { params: { path: { channel_id: channelId } } })),
  });
}

/** Who sees a channel and who may post to it, in words. */
export function usePolicyWords(): (channel: Channel) => { audience: string; posting: string } {
  const { t } = useTranslation(NS);
  const groups = useGroups();
  const names = (ids: string[]) => {
    const byId = new Map(groups.data?.items.map((g) => [g.id, g.name]));
    return ids.map((id) => byId.get(id) ?? "?").join(", ");
  };
  return (c) => ({
    audience: c.audience === "everyone" ? t("channels.everyone") : names(c.audience_group_ids),
    posting: c.posting === "editors" ? t("channels.editors") : names(c.poster_group_ids),
  });
}

export function Channels() {
  const { t } = useTranslation(NS);
  const channels = useChannels();
  const words = usePolicyWords();
  const archived = (useLocation().state as { archived?: string } | null)?.archived;
  const rows = channels.data?.items ?? [];
  return (
    <>
      <div className="admin-title">
        <h1>{t("sections.feeds.title")}</h1>
        <Link className="button primary" to="/admin/feeds/new">
          {t("channels.new")}
        </Link>
      </div>
      <p className="muted">{t("channels.intro")}</p>
      {archived && <p role="status">{t("channels.archived", { name: archived })}</p>}
      <AdminError error={channels.error} />
      {channels.isPending ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>{t("channels.none")}</p>
      ) : (
        <DataTable
          caption={t("channels.title")}
          rows={rows}
          rowKey={(c) => c.id}
          columns={[
            { header: t("channels.name"), cell: (c) => <Link to={`/admin/feeds/${c.id}`}>{c.name}</Link> },
            { header: t("channels.audience"), cell: (c) => words(c).audience },
            { header: t("channels.posting"), cell: (c) => words(c).posting },
            {
              header: t("channels.interactions"),
              cell: (c) =>
                [c.comments_enabled && t("channels.comments"), c.reactions_enabled && t("channels.reactions")].filter(Boolean).join(", ") ||
                t("channels.no_interactions"),
            },
          ]}
        />
      )}
    </>
  );
}

function ChannelForm({ channel, submit }: { channel?: Channel; submit: string }) {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useMe();
  const [name, setName] = useState(channel?.name ?? "");
  const [description, setDescription] = useState(channel?.description ?? "");
  const [audience, setAudience] = useState<Audience>((channel?.audience as Audience) ?? "everyone");
  const [audienceGroups, setAudienceGroups] = useState<string[]>(channel?.audience_group_ids ?? []);
  const [posting, setPosting] = useState<Posting>((channel?.posting as Posting) ?? "editors");
  const [posterGroups, setPosterGroups] = useState<string[]>(channel?.poster_group_ids ?? []);
  const [comments, setComments] = useState(channel?.comments_enabled ?? true);
  const [reactions, setReactions] = useState(channel?.reactions_enabled ?? true);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const names = { audience: useId(), posting: useId() };
  async function save() {
    setSaved(false);
    const body = {
      name,
      description,
      audience,
      audience_group_ids: audience === "groups" ? audienceGroups : [],
      posting,
      poster_group_ids: posting === "groups" ? posterGroups : [],
      comments_enabled: comments,
      reactions_enabled: reactions,
    };
    const out = channel
      ? await unwrap(api.PATCH("/api/v1/channels/{channel_id}", { params: { path: { channel_id: channel.id } }, body }))
      : await unwrap(api.POST("/api/v1/channels", { body }));
    queryClient.setQueryData(["admin", "channel", out.id], out);
    await queryClient.invalidateQueries({ queryKey: ["admin", "channels"] });
    await queryClient.invalidateQueries({ queryKey: ["channels"] });
    if (channel) setSaved(true);
    else navigate(`/admin/feeds/${out.id}`, { state: { created: true } });
  }
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(save);
      }}
    >
      <Field label={t("channels.name")} value={name} onChange={setName} autoComplete="off" />
      <Field label={t("channels.description")} value={description} onChange={setDescription} required={false} />
      <fieldset className="choices">
        <legend>{t("channels.who_sees")}</legend>
        <label>
          <input type="radio" name={names.audience} checked={audience === "everyone"} onChange={() => setAudience("everyone")} />{" "}
          {t("channels.everyone_in", { org: me.data?.org.name ?? "" })}
        </label>
        <label>
          <input type="radio" name={names.audience} checked={audience === "groups"} onChange={() => setAudience("groups")} />{" "}
          {t("channels.chosen_groups")}
        </label>
      </fieldset>
      {audience === "groups" && (
        <GroupChecklist
          legend={t("channels.audience_groups")}
          value={audienceGroups}
          onChange={setAudienceGroups}
          empty={t("channels.no_groups")}
        />
      )}
      <fieldset className="choices">
        <legend>{t("channels.who_posts")}</legend>
        <label>
          <input type="radio" name={names.posting} checked={posting === "editors"} onChange={() => setPosting("editors")} />{" "}
          {t("channels.editors_only")}
        </label>
        <label>
          <input type="radio" name={names.posting} checked={posting === "groups"} onChange={() => setPosting("groups")} />{" "}
          {t("channels.poster_groups_choice")}
        </label>
        <p className="hint">{t("channels.moderators_post")}</p>
      </fieldset>
      {posting === "groups" && (
        <GroupChecklist
          legend={t("channels.poster_groups")}
          value={posterGroups}
          onChange={setPosterGroups}
          empty={t("channels.no_groups")}
        />
      )}
      <fieldset className="choices">
        <legend>{t("channels.interactions")}</legend>
        <label>
          <input type="checkbox" checked={comments} onChange={(e) => setComments(e.target.checked)} /> {t("channels.allow_comments")}
        </label>
        <label>
          <input type="checkbox" checked={reactions} onChange={(e) => setReactions(e.target.checked)} />{" "}
          {t("channels.allow_reactions")}
        </label>
      </fieldset>
      <AdminError error={action.error} />
      {saved && <p role="status">{t("common.saved")}</p>}
      <button type="submit" className="primary" disabled={action.busy}>
        {submit}
      </button>
    </form>
  );
}

export function ChannelNew() {
  const { t } = useTranslation(NS);
  return (
    <section className="panel narrow-admin" aria-labelledby="channel-new">
      <p>
        <Link to="/admin/feeds">{t("channels.back")}</Link>
      </p>
      <h1 id="channel-new">{t("channels.new")}</h1>
      <ChannelForm submit={t("channels.create")} />
    </section>
  );
}

export function ChannelSettings() {
  const { t } = useTranslation(NS);
  const { channelId = "" } = useParams();
  const channel = useChannel(channelId);
  if (channel.error) return <AdminError error={channel.error} />;
  if (!channel.data) return <Loading />;
  return (
    <>
      <section className="panel narrow-admin" aria-labelledby="channel-settings">
        <p>
          <Link to={`/admin/feeds/${channelId}`}>{t("channels.back_to", { name: channel.data.name })}</Link>
        </p>
        <h1 id="channel-settings">{t("channels.settings_of", { name: channel.data.name })}</h1>
        <ChannelForm channel={channel.data} submit={t("common.save")} />
      </section>
      <Archive channel={channel.data} />
    </>
  );
}

function Archive({ channel }: { channel: Channel }) {
  const { t } = useTranslation(NS);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  async function archive() {
    await unwrap(api.DELETE("/api/v1/channels/{channel_id}", { params: { path: { channel_id: channel.id } } }));
    navigate("/admin/feeds", { state: { archived: channel.name } });
    queryClient.removeQueries({ queryKey: ["admin", "channel", channel.id] });
    await queryClient.invalidateQueries({ queryKey: ["admin", "channels"] });
    await queryClient.invalidateQueries({ queryKey: ["channels"] });
  }
  return (
    <section className="panel narrow-admin" aria-labelledby="channel-archive">
      <h2 id="channel-archive">{t("channels.archive_title")}</h2>
      <p>{t("channels.archive_what")}</p>
      {confirming ? (
        <Confirm
          label={t("channels.archive_label")}
          action={t("channels.archive_now", { name: channel.name })}
          busy={action.busy}
          onConfirm={() => void action.run(archive)}
          onCancel={() => setConfirming(false)}
        >
          <p>{t("channels.archive_confirm", { name: channel.name })}</p>
        </Confirm>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          {t("channels.archive")}
        </button>
      )}
      <AdminError error={action.error} />
    </section>
  );
}
