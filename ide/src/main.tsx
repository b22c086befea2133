import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './styles.css';
import { GraphiQL } from 'graphiql';
import { StrictMode, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { Exchange } from './exchange.js';
import { authorizationOf, createFetcher } from './fetcher.js';
import { LimitsPanel } from './LimitsPanel.js';

const DEFAULT_QUERY = `# Put your API key in the Headers tab below, then run this.
# The Docs explorer shows each field's cost and limits; the panel
# under the response shows what the operation cost and what is
# left of your rate limits.

query Dashboard {
  viewer { clientId role tenant { displayName plan { displayName } } }
  products(first: 3) { name price { formatted } }
}
`;

function App() {
  const [exchange, setExchange] = useState<Exchange | null>(null);
  // GraphiQL loads the schema again whenever the fetcher changes: once an operation succeeds
  // after the schema could not load (no key yet, or a wrong one), a new fetcher loads it with
  // the headers now in the editor, so the Docs explorer and completion work. The fetcher is
  // state, set exactly then (a memo keyed on a counter would say the same less directly).
  const schemaLoaded = useRef(false);
  // The Authorization value the last schema load was tried with: a key typed (or pasted) into the
  // headers editor loads the schema at once, without waiting for an operation to run, and the
  // same failing key is not tried again on every keystroke.
  const triedWith = useRef<string | null>(null);
  const retry = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const newFetcher = () =>
    createFetcher({
      onExchange: (next) => {
        setExchange(next);
        if (next.status === 200 && !schemaLoaded.current) setFetcher(() => newFetcher());
      },
      onIntrospection: (ok, authorization) => {
        schemaLoaded.current = ok;
        triedWith.current = authorization;
      },
    });
  const [fetcher, setFetcher] = useState(newFetcher);
  const onEditHeaders = (text: string) => {
    if (schemaLoaded.current) return;
    let headers: Record<string, unknown>;
    try {
      headers = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return; // half-typed JSON: wait for the next edit
    }
    const authorization = headers && typeof headers === 'object' ? authorizationOf(headers) : null;
    if (!authorization || authorization === triedWith.current) return;
    // After a pause in typing, so one paste or a few keystrokes make one schema load.
    clearTimeout(retry.current);
    retry.current = setTimeout(() => setFetcher(() => newFetcher()), 300);
  };
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      defaultHeaders={'{\n  "Authorization": "Bearer "\n}'}
      isHeadersEditorEnabled
      onEditHeaders={onEditHeaders}
      defaultEditorToolsVisibility="headers"
    >
      <GraphiQL.Footer>
        <LimitsPanel exchange={exchange} />
      </GraphiQL.Footer>
    </GraphiQL>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
