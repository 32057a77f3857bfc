/**
 * A modal confirmation built on <dialog>: the browser traps focus in it and Escape closes it. The
 * action's error stays inside the dialog, so the person can read it and try again.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { ErrorBox } from './error-box.js';

/** The dialog; `onConfirm` may be async, and its rejection is shown in the dialog. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  cancelLabel?: string;
  tone?: 'danger' | 'primary';
  busy?: boolean;
  error?: unknown;
  /** What the error box says failed. */
  errorTitle?: string;
  wide?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = `dialog-${useId()}`;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);

  return (
    <dialog
      ref={ref}
      class={`dialog${props.wide ? ' dialog-wide' : ''}`}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        if (!props.busy) props.onClose();
      }}
    >
      {props.open && (
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            if (!props.busy) props.onConfirm();
          }}
        >
          <h2 id={titleId} class="dialog-title">
            {props.title}
          </h2>
          <div class="dialog-body">{props.children}</div>
          {props.error !== undefined && props.error !== null && (
            <ErrorBox error={props.error} title={props.errorTitle} />
          )}
          <div class="dialog-actions">
            <button type="button" class="button" onClick={props.onClose} disabled={props.busy} autofocus>
              {props.cancelLabel ?? 'Close'}
            </button>
            <button
              type="submit"
              class={`button ${props.tone === 'danger' ? 'button-danger' : 'button-primary'}`}
              disabled={props.busy}
              data-testid="dialog-confirm"
            >
              {props.busy ? 'Working…' : props.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
