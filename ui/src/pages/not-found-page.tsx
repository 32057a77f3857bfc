/** The page for an address the UI does not know. */
import { EmptyState } from '../components/empty-state.js';
import { useTitle } from '../hooks.js';

/** The page. */
export function NotFoundPage({ path }: { path: string }) {
  useTitle('Not found');
  return (
    <EmptyState title="There is no page here">
      <p>
        Nothing is found at <code>{path}</code>. Go back to the <a href="/">requests</a>.
      </p>
    </EmptyState>
  );
}
