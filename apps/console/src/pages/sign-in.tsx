import { useState } from 'preact/hooks';
import { Err } from '../components';

/** Asks for the API key (or JWT) the console then uses. */
export function SignIn({ onKey, error }: { onKey: (key: string) => void; error?: string }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="signin"
      onSubmit={(e) => {
        e.preventDefault();
        onKey(key.trim());
      }}
    >
      <h2>Sign in</h2>
      <p>An API key (or JWT) with the read scope; admin shows the actions. Kept in this tab only.</p>
      <input
        name="apiKey"
        type="password"
        placeholder="tq_..."
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <button type="submit">Sign in</button>
      <Err error={error} />
    </form>
  );
}
