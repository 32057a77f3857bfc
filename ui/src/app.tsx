/** The shell of every page: the top bar with the sections, and the page the address names. */
import { useEffect, useRef } from 'preact/hooks';
import { NotFoundPage } from './pages/not-found-page.js';
import { RequestPage } from './pages/request-page.js';
import { RequestsPage } from './pages/requests-page.js';
import { SubmitPage } from './pages/submit-page.js';
import { TasksPage } from './pages/tasks-page.js';
import { TemplatePage } from './pages/template-page.js';
import { TemplatesPage } from './pages/templates-page.js';
import { match, useLocation, type Location } from './router.js';

const SECTIONS = [
  { href: '/', label: 'Requests', active: (path: string) => path === '/' || path.startsWith('/requests') },
  { href: '/templates', label: 'Templates', active: (path: string) => path.startsWith('/templates') },
  { href: '/tasks', label: 'Task catalogue', active: (path: string) => path.startsWith('/tasks') },
];

/** The app. */
export function App() {
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  // After a navigation, keyboard and screen-reader users start at the new page, not the old link.
  const firstPath = useRef(location.path);
  useEffect(() => {
    if (location.path !== firstPath.current) main.current?.focus({ preventScroll: true });
    firstPath.current = '';
  }, [location.path]);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <a class="brand" href="/" aria-label="O3 home">
            <span class="brand-mark" aria-hidden="true">
              O3
            </span>
            <span class="brand-name">Workflow engine</span>
          </a>
          <nav class="nav" aria-label="Sections">
            {SECTIONS.map((section) => (
              <a
                key={section.href}
                href={section.href}
                class="nav-link"
                aria-current={section.active(location.path) ? 'page' : undefined}
              >
                {section.label}
              </a>
            ))}
          </nav>
          <a class="button button-primary nav-submit" href="/submit">
            New request
          </a>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} class="page">
        <Page location={location} />
      </main>
    </>
  );
}

function Page({ location }: { location: Location }) {
  const { path, query } = location;
  if (match('/', path)) return <RequestsPage query={query} />;
  const request = match('/requests/:uuid', path);
  if (request?.uuid) return <RequestPage key={request.uuid} uuid={request.uuid} query={query} />;
  if (match('/templates', path)) return <TemplatesPage />;
  const template = match('/templates/:ref', path);
  if (template?.ref) return <TemplatePage key={template.ref} refName={template.ref} query={query} />;
  if (match('/tasks', path)) return <TasksPage />;
  if (match('/submit', path)) return <SubmitPage query={query} />;
  return <NotFoundPage path={path} />;
}
