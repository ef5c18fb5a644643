import { useEffect, useState } from 'preact/hooks';
import { TaskqClient } from '@app/client';
import { clientFor, Ctx, errorText, KEY_STORAGE } from './context';
import { useRoute } from './hooks/use-route';
import { Dlq } from './pages/dlq';
import { Queues } from './pages/queues';
import { Schedules } from './pages/schedules';
import { SignIn } from './pages/sign-in';
import { TaskPage } from './pages/task';
import { Tasks } from './pages/tasks';
import { Workers } from './pages/workers';

const PAGES: [string, string][] = [
  ['/queues', 'Queues'],
  ['/tasks', 'Tasks'],
  ['/dlq', 'Dead letters'],
  ['/schedules', 'Schedules'],
  ['/workers', 'Workers'],
];

/**
 * The console: sign in, then the page the location's hash names. `connect` makes the client for a key (the api
 * that served the console; a fake in the component tests).
 */
export function App({ connect = clientFor }: { connect?: (apiKey: string) => TaskqClient }) {
  const [key, setKey] = useState(sessionStorage.getItem(KEY_STORAGE) ?? '');
  const [ctx, setCtx] = useState<Ctx | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [path, query] = useRoute();

  useEffect(() => {
    let live = true;
    const client = connect(key);
    // One probe: the queues (read) must answer; key management answering too means admin.
    client
      .queues()
      .then(async () => {
        const admin = await client
          .keys()
          .next()
          .then(
            () => true,
            () => false,
          );
        if (!live) return;
        setCtx({ client, admin });
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setCtx(undefined);
        setError(key ? errorText(e) : undefined);
      });
    return () => {
      live = false;
    };
  }, [key]);

  const signIn = (value: string) => {
    sessionStorage.setItem(KEY_STORAGE, value);
    setKey(value);
  };
  const signOut = () => {
    sessionStorage.removeItem(KEY_STORAGE);
    setKey('');
    setCtx(undefined);
  };
  if (!ctx) return <SignIn onKey={signIn} error={error} />;

  let page;
  if (path.startsWith('/task/')) page = <TaskPage ctx={ctx} id={decodeURIComponent(path.slice('/task/'.length))} />;
  else if (path === '/tasks') page = <Tasks ctx={ctx} query={query} />;
  else if (path === '/dlq') page = <Dlq ctx={ctx} query={query} />;
  else if (path === '/schedules') page = <Schedules ctx={ctx} />;
  else if (path === '/workers') page = <Workers ctx={ctx} />;
  else page = <Queues ctx={ctx} />;
  return (
    <>
      <nav>
        <strong>taskq</strong>
        {PAGES.map(([href, label]) => (
          <a key={href} href={`#${href}`} class={path === href ? 'current' : ''}>
            {label}
          </a>
        ))}
        <span class="who">{ctx.admin ? 'admin' : 'read-only'}</span>
        <button onClick={signOut}>Sign out</button>
      </nav>
      <main>{page}</main>
    </>
  );
}
