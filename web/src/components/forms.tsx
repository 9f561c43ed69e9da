import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useLocation } from "react-router";
import { problemText } from "./errors";

export function Field(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  autoComplete?: string;
  required?: boolean;
  minLength?: number;
  hint?: string;
  inputMode?: "numeric" | "text" | "email";
  autoFocus?: boolean;
  name?: string;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete={props.autoComplete}
        required={props.required ?? true}
        minLength={props.minLength}
        inputMode={props.inputMode}
        autoFocus={props.autoFocus}
        aria-describedby={props.hint ? hintId : undefined}
      />
      {props.hint && (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {problemText(t, error)}
    </p>
  );
}

/** A form whose submit runs `action`, shows its problem and disables itself meanwhile. */
export function Form(props: {
  action: () => Promise<void>;
  submit: string;
  children: ReactNode;
  error?: unknown;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={onSubmit} className="form">
      {props.children}
      <ErrorNote error={error ?? props.error} />
      <button type="submit" className="primary" disabled={busy}>
        {props.submit}
      </button>
    </form>
  );
}

export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="card-page">
      <section className="card" aria-labelledby="card-title">
        <p className="brand">Staffroom</p>
        <h1 id="card-title">{title}</h1>
        {children}
      </section>
    </main>
  );
}

/** A value passed in the link's fragment (`#token=…`): fragments never reach server
 * logs. Follows the address, so opening another link in the same tab shows that one. */
export function useFragment(name: string): string {
  const { hash } = useLocation();
  return new URLSearchParams(hash.slice(1)).get(name) ?? "";
}
