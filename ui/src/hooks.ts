/** Hooks shared by the pages: loading data, refreshing it while the page is visible, a ticking clock. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** What a load gave: the data, or the error, and whether a load is under way. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` whenever `key` changes (and on `reload`); with `refreshMs`, again every so often
 * while the page is visible. Answers that arrive after a newer load started are dropped, so a slow
 * old answer never overwrites a newer one.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  refreshMs?: number,
): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean; key: string }>({
    loading: true,
    key,
  });
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(() => {
    const id = ++latest.current;
    const controller = new AbortController();
    setState((old) => ({ ...old, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (id === latest.current) setState({ data, error: undefined, loading: false, key });
      },
      (error: unknown) => {
        if (id !== latest.current || controller.signal.aborted) return;
        // A failed refresh keeps the data on screen; the page says it is not current.
        setState((old) => ({ data: old.key === key ? old.data : undefined, error, loading: false, key }));
      },
    );
    return controller;
  }, [key]);

  useEffect(() => {
    let controller = run();
    if (refreshMs === undefined) return () => controller.abort();
    const tick = () => {
      if (document.visibilityState === 'visible') controller = run();
    };
    const timer = setInterval(tick, refreshMs);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
      controller.abort();
    };
  }, [run, refreshMs]);

  const sameKey = state.key === key;
  return {
    data: sameKey ? state.data : undefined,
    error: sameKey ? state.error : undefined,
    loading: state.loading || !sameKey,
    reload: () => void run(),
  };
}

/** The time now, re-rendering every second while `ticking`. */
export function useNow(ticking: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return ticking ? now : Date.now();
}

/** Sets the page title (the tab and what a screen reader announces on navigation). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · O3` : 'O3';
  }, [title]);
}
