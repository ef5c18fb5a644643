import { useEffect, useState } from 'preact/hooks';
import { errorText, POLL_MS } from '../context';

/** `load` now and every POLL_MS while the page is shown; `reload` after an action. */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = POLL_MS) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await load();
        if (live) {
          setData(value);
          setError(undefined);
        }
      } catch (e) {
        if (live) setError(errorText(e));
      }
      if (live) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
