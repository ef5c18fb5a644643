import { useEffect, useState } from 'preact/hooks';

/** The page and its query from the location's hash (`#/tasks?status=dead`); `/queues` when there is none. */
export function useRoute(): [string, URLSearchParams] {
  const read = () => {
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    return [path || '/queues', new URLSearchParams(query ?? '')] as [string, URLSearchParams];
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Goes to a page: `go('/tasks', { status: 'dead' })`; empty query values are left out. */
export const go = (path: string, query: Record<string, string | undefined> = {}) => {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v) as [string, string][]).toString();
  location.hash = `${path}${params ? `?${params}` : ''}`;
};
