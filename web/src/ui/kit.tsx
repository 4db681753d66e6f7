/** Small shared pieces: states (loading, empty, error), money, dates, status, fields, paging. */
import { Component, type ComponentChildren, type FunctionComponent, type JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem } from '../api/client.ts';
import { label, money, when } from '../format.ts';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

/** What to do next, for the problems a control raises (the `detail` says what happened). */
const NEXT_STEP: Record<string, string> = {
  same_user:
    'Four-eyes rule: this step must be done by a different person from the one who did the step before it.',
  approval_required:
    'It is at or above the approval threshold: a finance user who did not validate it must approve it first (see Approvals).',
  on_hold: 'It is on hold: a hold must be released before it can move forward (see Holds).',
  forbidden: 'Your role does not allow this; ask someone whose role does.',
};

/** An error in plain words: the problem's `detail` (field errors are shown beside their fields). */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const next = error instanceof ApiProblem ? NEXT_STEP[error.problem.code] : undefined;
  const text =
    error instanceof ApiProblem
      ? `${error.message}${/[.!?]$/.test(error.message) ? '' : '.'}${next ? ` ${next}` : ''}`
      : error instanceof Error
        ? error.message
        : 'Something went wrong. Please try again.';
  return (
    <div class="error" role="alert">
      {text}
    </div>
  );
}

export function Money({ amount, currency }: { amount: number; currency: string }) {
  return <span class={`money${amount < 0 ? ' negative' : ''}`}>{money(amount, currency)}</span>;
}

export function Time({ at }: { at: string | undefined | null }) {
  if (!at) return null;
  return <time dateTime={at}>{when(at)}</time>;
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status}`}>{label(status)}</span>;
}

/** The h1 of a screen; it takes focus after each navigation (see Layout). */
export function Title({ children }: { children: ComponentChildren }) {
  return (
    <h1 tabIndex={-1} id="page-title">
      {children}
    </h1>
  );
}

export function fieldError(error: unknown, ...paths: string[]): string | undefined {
  if (!(error instanceof ApiProblem)) return undefined;
  const fields = error.fieldErrors();
  for (const path of paths) if (fields[path]) return fields[path];
  return undefined;
}

type InputProps = JSX.InputHTMLAttributes<HTMLInputElement> & {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: string | undefined;
};

/** A labelled input with its error and hint tied to it (aria-describedby, aria-invalid). */
export function Field({ label: text, name, error, hint, id, ...input }: InputProps) {
  const fieldId = (id as string | undefined) ?? `f-${name}`;
  const described = [hint ? `${fieldId}-hint` : '', error ? `${fieldId}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={fieldId}>{text}</label>
      <input
        id={fieldId}
        name={name}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
      {hint && (
        <small id={`${fieldId}-hint`} class="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${fieldId}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

type SelectProps = JSX.SelectHTMLAttributes<HTMLSelectElement> & {
  label: string;
  name: string;
  options: readonly (string | { value: string; label: string })[];
  error?: string | undefined;
};

export function Select({ label: text, name, options, error, id, defaultValue, ...select }: SelectProps) {
  const fieldId = (id as string | undefined) ?? `f-${name}`;
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={fieldId}>{text}</label>
      <select
        id={fieldId}
        name={name}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${fieldId}-error` : undefined}
        {...select}
      >
        {options.map((option) =>
          typeof option === 'string' ? (
            <option key={option} value={option} selected={defaultValue === option ? true : undefined}>
              {option}
            </option>
          ) : (
            <option
              key={option.value}
              value={option.value}
              selected={defaultValue === option.value ? true : undefined}
            >
              {option.label}
            </option>
          ),
        )}
      </select>
      {error && (
        <small id={`${fieldId}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

type TextAreaProps = JSX.TextareaHTMLAttributes<HTMLTextAreaElement> & {
  label: string;
  name: string;
  error?: string | undefined;
};

export function TextArea({ label: text, name, error, id, ...area }: TextAreaProps) {
  const fieldId = (id as string | undefined) ?? `f-${name}`;
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={fieldId}>{text}</label>
      <textarea
        id={fieldId}
        name={name}
        rows={3}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${fieldId}-error` : undefined}
        {...area}
      />
      {error && (
        <small id={`${fieldId}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

/** Previous / next over opaque cursors (the API's `nextCursor`). */
/** Rows a list screen asks for at once. */
export const PAGE_SIZE = 25;

export function usePager() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  return {
    cursor,
    /** The list query of this page: the page size, and the cursor after the first page. */
    query: { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
    page: cursors.length,
    reset: () => setCursors([undefined]),
    next: (nextCursor: string) => setCursors([...cursors, nextCursor]),
    previous: () => setCursors(cursors.slice(0, -1)),
  };
}

export function Pager({
  pager,
  nextCursor,
}: {
  pager: ReturnType<typeof usePager>;
  nextCursor: string | null | undefined;
}) {
  if (pager.page === 1 && !nextCursor) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled={pager.page === 1} onClick={pager.previous}>
        Previous page
      </button>
      <span>Page {pager.page}</span>
      <button
        type="button"
        class="secondary"
        disabled={!nextCursor}
        onClick={() => nextCursor && pager.next(nextCursor)}
      >
        Next page
      </button>
    </nav>
  );
}

/**
 * A button that asks first, in a modal <dialog>, where money is at stake. `children` of the dialog
 * may hold fields (a reason, a payment reference); they are submitted with the confirmation.
 */
export function ConfirmButton({
  label: text,
  context,
  title,
  confirm,
  danger,
  busy,
  onConfirm,
  children,
}: {
  label: string;
  /** Words the button's accessible name adds (which row it acts on), not shown. */
  context?: string;
  title: string;
  confirm: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: (form: FormData) => void;
  children?: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  // The dialog exists only while open: a long table of rows with actions stays light.
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (open) dialog.current?.showModal();
  }, [open]);
  const titleId = `dlg-${text.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <>
      <button
        ref={opener}
        type="button"
        class={danger ? 'danger' : undefined}
        disabled={busy}
        onClick={() => setOpen(true)}
      >
        {text}
        {context && <span class="visually-hidden"> {context}</span>}
      </button>
      {open && (
        <dialog
          ref={dialog}
          aria-labelledby={titleId}
          onClose={() => {
            setOpen(false);
            opener.current?.focus();
          }}
        >
          <form
            method="dialog"
            onSubmit={(event) => {
              const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
              if (submitter?.value !== 'confirm') return;
              onConfirm(new FormData(event.currentTarget));
            }}
          >
            <h2 id={titleId}>{title}</h2>
            {children}
            <div class="actions">
              <button type="submit" value="cancel" class="secondary" formNoValidate>
                Go back
              </button>
              <button type="submit" value="confirm" class={danger ? 'danger' : undefined}>
                {confirm}
              </button>
            </div>
          </form>
        </dialog>
      )}
    </>
  );
}

export function text(form: FormData, name: string): string | undefined {
  const value = form.get(name);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * A component that renders again only when a prop changed (shallow), like compat's `memo`, without
 * loading preact/compat: long tables re-render only their new rows.
 */
export function pure<P extends object>(render: FunctionComponent<P>) {
  return class Pure extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      const current = this.props as Record<string, unknown>;
      const incoming = next as Record<string, unknown>;
      for (const key in incoming) if (incoming[key] !== current[key]) return true;
      for (const key in current) if (!(key in incoming)) return true;
      return false;
    }

    override render(props: P) {
      return render(props);
    }
  };
}
