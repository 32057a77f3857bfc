/** An API error (or any error) as a person reads it: what failed, why, and each problem at its place. */
import { ApiError } from '../api.js';

/** The box; `title` says what was being done. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const apiError = error instanceof ApiError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="callout callout-error" role="alert">
      <p class="callout-title">
        {title ?? 'Something went wrong'}
        {apiError && apiError.status > 0 && (
          <span class="callout-code">
            {apiError.code} · HTTP {apiError.status}
          </span>
        )}
      </p>
      <p class="callout-text">{message}</p>
      {apiError && apiError.details.length > 0 && (
        <ul class="problem-list">
          {apiError.details.map((detail, index) => (
            <li key={index}>
              {detail.path && <code class="problem-path">{detail.path}</code>} {detail.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
