// Writing a post as an editor: a title, Markdown (rendered and sanitised by the server,
// never here), images and PDFs, now or at a chosen time, pinned, and an acknowledgement
// everyone in the audience is asked for, by a date.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Loading } from "../auth";
import { Field } from "../components/forms";
import { uploadFile } from "../components/Media";
import { useChannel } from "./channels";
import { NS } from "./i18n";
import { AdminError, useAction } from "./lib";

/** A date as a datetime-local input shows it: the browser's own time zone, to the minute. */
export function localInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (local time) as the API's ISO-8601 UTC time. */
function isoFrom(value: string): string {
  return new Date(value).toISOString();
}

function DateTime(props: { label: string; value: string; onChange: (v: string) => void; min?: string; required?: boolean }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="datetime-local"
        value={props.value}
        min={props.min}
        required={props.required}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </div>
  );
}

type Attached = { id: string; name: string };

export function Composer() {
  const { t } = useTranslation(NS);
  const { channelId = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const channel = useChannel(channelId);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [attached, setAttached] = useState<Attached[]>([]);
  const [later, setLater] = useState(false);
  const [publishAt, setPublishAt] = useState("");
  const [pinned, setPinned] = useState(false);
  const [ack, setAck] = useState(false);
  const [ackDue, setAckDue] = useState("");
  const action = useAction();
  const upload = useAction();
  const ids = { body: useId(), files: useId(), when: useId() };
  const now = localInput(new Date());

  async function attach(files: FileList | null) {
    for (const file of Array.from(files ?? [])) {
      await upload.run(async () => {
        const id = await uploadFile(file);
        setAttached((list) => [...list, { id, name: file.name }]);
      });
    }
  }
  async function send() {
    const made = await unwrap(
      api.POST("/api/v1/channels/{channel_id}/posts", {
        params: { path: { channel_id: channelId } },
        body: {
          title,
          body,
          attachment_ids: attached.map((a) => a.id),
          publish_at: later && publishAt ? isoFrom(publishAt) : null,
          pinned,
          requires_ack: ack,
          ack_due_at: ack && ackDue ? isoFrom(ackDue) : null,
        },
      }),
    );
    await queryClient.invalidateQueries({ queryKey: ["admin", "posts", channelId] });
    await queryClient.invalidateQueries({ queryKey: ["feed"] });
    navigate(`/admin/feeds/${channelId}`, { state: { posted: made.title, scheduled: later } });
  }
  if (channel.error) return <AdminError error={channel.error} />;
  if (!channel.data) return <Loading />;
  return (
    <section className="panel narrow-admin" aria-labelledby="composer">
      <p>
        <Link to={`/admin/feeds/${channelId}`}>{t("channels.back_to", { name: channel.data.name })}</Link>
      </p>
      <h1 id="composer">{t("posts.new_in", { name: channel.data.name })}</h1>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(send);
        }}
      >
        <Field label={t("posts.post_title")} value={title} onChange={setTitle} autoComplete="off" />
        <div className="field">
          <label htmlFor={ids.body}>{t("posts.body")}</label>
          <textarea
            id={ids.body}
            rows={10}
            required
            value={body}
            onChange={(e) => setBody(e.target.value)}
            aria-describedby={`${ids.body}-hint`}
          />
          <p className="hint" id={`${ids.body}-hint`}>
            {t("posts.markdown_hint")}
          </p>
        </div>
        <div className="field">
          <label htmlFor={ids.files}>{t("posts.attach")}</label>
          <input
            id={ids.files}
            type="file"
            multiple
            accept="image/*,application/pdf"
            onChange={(e) => {
              void attach(e.target.files);
              e.target.value = "";
            }}
          />
          {upload.busy && <p role="status">{t("posts.uploading")}</p>}
          <AdminError error={upload.error} />
          {attached.length > 0 && (
            <ul className="attached" aria-label={t("posts.attached")}>
              {attached.map((a) => (
                <li key={a.id}>
                  {a.name}{" "}
                  <button
                    type="button"
                    className="link"
                    aria-label={t("posts.detach", { name: a.name })}
                    onClick={() => setAttached((list) => list.filter((x) => x.id !== a.id))}
                  >
                    {t("groups.remove")}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <fieldset className="choices">
          <legend>{t("posts.when")}</legend>
          <label>
            <input type="radio" name={ids.when} checked={!later} onChange={() => setLater(false)} /> {t("posts.now")}
          </label>
          <label>
            <input type="radio" name={ids.when} checked={later} onChange={() => setLater(true)} /> {t("posts.later")}
          </label>
        </fieldset>
        {later && <DateTime label={t("posts.publish_at")} value={publishAt} onChange={setPublishAt} min={now} required />}
        <label className="check">
          <input type="checkbox" checked={pinned} onChange={(e) => setPinned(e.target.checked)} /> {t("posts.pin_it")}
        </label>
        <label className="check">
          <input type="checkbox" checked={ack} onChange={(e) => setAck(e.target.checked)} /> {t("posts.ask_ack")}
        </label>
        {ack && (
          <DateTime
            label={t("posts.ack_due_at")}
            value={ackDue}
            onChange={setAckDue}
            min={later && publishAt ? publishAt : now}
          />
        )}
        <AdminError error={action.error} />
        <button type="submit" className="primary" disabled={action.busy || upload.busy}>
          {later ? t("posts.schedule") : t("posts.publish")}
        </button>
      </form>
    </section>
  );
}
