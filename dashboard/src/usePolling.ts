import { useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

/**
 * Runs `load` now, again whenever `deps` change, and every `everyMs` (0: never) while mounted.
 * A failed refresh keeps the last data and shows the error beside it. Nothing runs while
 * `enabled` is false (a panel that waits for the page's first data). `load` is a new closure on
 * every render: the effect calls the latest one rather than restarting for each (its inputs are `deps`).
 */
export function usePolling<T>(load: () => Promise<T>, deps: unknown[], everyMs: number, enabled = true): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  const latestLoad = useRef(load);
  latestLoad.current = load;
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    const run = () => {
      setState((s) => ({ ...s, loading: true }));
      latestLoad.current().then(
        (data) => live && setState({ data, error: null, loading: false }),
        (err: Error) => live && setState((s) => ({ data: s.data, error: err.message, loading: false })),
      );
    };
    run();
    const timer = everyMs > 0 ? setInterval(run, everyMs) : null;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, enabled, everyMs]);
  return state;
}
