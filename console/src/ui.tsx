/** Small building blocks shared by the console's pages. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { isApiError } from './api';
import { showBytes, type FetchedBytes } from './format';

/** An error as the API worded it: its code, message and HTTP status. */
export function ErrorBanner({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  const code = isApiError(error) ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  const status = isApiError(error) && error.status > 0 ? ` (HTTP ${error.status})` : '';
  return (
    <div class="error" role="alert">
      <strong class="error-code">{code}</strong> <span class="error-message">{message}</span>
      <span class="muted">{status}</span>
      {onDismiss ? (
        <button type="button" class="link dismiss" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      ) : null}
    </div>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Runs `load` when `deps` change and on reload(); keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await load();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (e) {
      if (mine !== generation.current) return;
      setError(e);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, deps);
  useEffect(() => {
    setData(undefined);
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

export function PageHeader({ title, children }: { title: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1 id="page-title">{title}</h1>
      <div class="actions">{children}</div>
    </div>
  );
}

export function RefreshButton({ loaded, label = 'Refresh' }: { loaded: Loaded<unknown>; label?: string }) {
  return (
    <button type="button" onClick={() => void loaded.reload()} disabled={loaded.loading} aria-busy={loaded.loading}>
      {loaded.loading ? 'Loading…' : label}
    </button>
  );
}

/** Bytes as the API gave them: formatted JSON, text, base64 (marked) or null (marked). */
/** Longer text is cut in the table (the whole of it stays searchable) until asked for. */
const displayLimit = 10_000;

/** Bytes as the API gave them: formatted JSON, text, base64 (marked) or null (marked). */
export function Bytes({ bytes, block = false }: { bytes: FetchedBytes; block?: boolean }) {
  const [full, setFull] = useState(false);
  const shown = showBytes(bytes);
  const badge =
    shown.kind === 'base64' ? (
      <span class="badge" title="Not valid UTF-8: shown as base64">
        base64
      </span>
    ) : shown.kind === 'json' ? (
      <span class="badge json">JSON</span>
    ) : null;
  if (shown.kind === 'null') return <span class="muted">null</span>;
  const long = shown.display.length > displayLimit && !full;
  const text = long ? `${shown.display.slice(0, displayLimit)}…` : shown.display;
  const more = long ? (
    <button type="button" class="more" onClick={() => setFull(true)}>
      Show all {shown.display.length.toLocaleString('en-US')} characters
    </button>
  ) : null;
  return block ? (
    <div class="bytes">
      {badge}
      <pre>{text}</pre>
      {more}
    </div>
  ) : (
    <span class="bytes-inline">
      {badge} <code>{text}</code>
      {more}
    </span>
  );
}

/**
 * A modal confirmation that asks for the name of what is about to go, as a guard against a
 * slip of the finger. Escape or Cancel closes it.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  expected: string;
  action: string;
  children?: ComponentChildren;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) {
      setTyped('');
      setError(undefined);
      dialog.showModal();
    } else if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  const confirm = async (event: Event) => {
    event.preventDefault();
    if (typed !== props.expected) return;
    setBusy(true);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} onClose={props.onClose} aria-labelledby="confirm-title">
      <form onSubmit={confirm}>
        <h2 id="confirm-title">{props.title}</h2>
        {props.children}
        <label>
          Type <code>{props.expected}</code> to confirm
          <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
        </label>
        <ErrorBanner error={error} />
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={typed !== props.expected || busy}>
            {busy ? 'Working…' : props.action}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A polite live region for what just happened ("Produced to partition 0 at offset 4"). */
export function Status({ children }: { children?: ComponentChildren }) {
  return (
    <p class="status" role="status" aria-live="polite">
      {children}
    </p>
  );
}

/** A column of a data table: numeric columns are right-aligned (class "num"). */
export interface Column {
  readonly label: string;
  readonly numeric?: boolean;
}

export const numeric = (label: string): Column => ({ label, numeric: true });

/** A data table's head: one header cell per column; `false` leaves a column out. */
export function TableHead({ columns }: { columns: readonly (Column | string | false)[] }) {
  const shown = columns.filter((c) => c !== false).map((c) => (typeof c === 'string' ? { label: c } : c));
  return (
    <thead>
      <tr>
        {shown.map((column) => (
          <th key={column.label} scope="col" class={column.numeric ? 'num' : undefined}>
            {column.label}
          </th>
        ))}
      </tr>
    </thead>
  );
}
