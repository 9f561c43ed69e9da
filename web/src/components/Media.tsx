// Media: shown with the caller's token. The local store's download route needs the
// bearer token, so the file is fetched and shown from a blob URL; S3's presigned URLs are
// used as they are.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../api/client";
import { CLIENT_HEADERS, session } from "../api/session";

async function objectUrl(url: string): Promise<string> {
  if (new URL(url, window.location.href).origin !== window.location.origin) return url;
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${session.token ?? ""}`, ...CLIENT_HEADERS },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

function useBlobUrl(media: Schemas["MediaOut"] | undefined, wanted: boolean) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!media?.download_url || !wanted) return;
    let made: string | null = null;
    let live = true;
    void objectUrl(media.download_url).then((u) => {
      made = u.startsWith("blob:") ? u : null;
      if (live) setUrl(u);
    });
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [media?.download_url, wanted]);
  return url;
}

export function Attachment({ id }: { id: string }) {
  const { t } = useTranslation();
  const media = useQuery({
    queryKey: ["media", id],
    queryFn: () => unwrap(api.GET("/api/v1/media/{media_id}", { params: { path: { media_id: id } } })),
    staleTime: 4 * 60_000, // presigned URLs live 5 minutes
  });
  const image = media.data?.content_type.startsWith("image/") ?? false;
  const url = useBlobUrl(media.data, image);
  if (media.error) return <p className="muted">{t("media.unavailable")}</p>;
  if (!media.data) return null;
  if (image && url) return <img className="attachment-image" src={url} alt={media.data.filename} />;
  return (
    <button
      type="button"
      className="attachment-file"
      onClick={async () => {
        const href = await objectUrl(media.data.download_url ?? "");
        const a = document.createElement("a");
        a.href = href;
        a.download = media.data.filename;
        a.click();
      }}
    >
      📎 {media.data.filename} ({Math.ceil(media.data.size / 1024)} KB)
    </button>
  );
}

/** Announce, upload and complete a file; returns its media id. */
export async function uploadFile(file: File): Promise<string> {
  const started = await unwrap(
    api.POST("/api/v1/media/uploads", {
      body: { filename: file.name, content_type: file.type || "application/octet-stream", size: file.size },
    }),
  );
  const target = started.upload;
  let response: Response;
  if (target.method === "POST") {
    const form = new FormData();
    for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
    form.append("file", file);
    response = await fetch(target.url, { method: "POST", body: form });
  } else {
    response = await fetch(target.url, {
      method: "PUT",
      body: file,
      headers: {
        ...target.fields,
        "content-type": file.type || "application/octet-stream",
        authorization: `Bearer ${session.token ?? ""}`,
        ...CLIENT_HEADERS,
      },
    });
  }
  if (!response.ok) throw new Error(`upload failed: HTTP ${response.status}`);
  await unwrap(
    api.POST("/api/v1/media/{media_id}/complete", { params: { path: { media_id: started.media_id } } }),
  );
  return started.media_id;
}
