import { hrefOf } from '../route';

export function ConsoleHeader(props: { onSignOut: () => void; children?: preact.ComponentChildren }) {
  return (
    <header class="topbar">
      <nav aria-label="Console">
        <h1>
          <a href={hrefOf({ page: 'fleet' })} class="plain">
            Platform console
          </a>
        </h1>
        <a href={hrefOf({ page: 'calibration' })}>Cost calibration</a>
        <a href={hrefOf({ page: 'audit' })}>Audit trail</a>
        <a href={hrefOf({ page: 'shadow' })}>Shadow limits</a>
        <a href={hrefOf({ page: 'what-if' })}>What if</a>
        {props.children}
      </nav>
      <button type="button" onClick={props.onSignOut}>
        Sign out
      </button>
    </header>
  );
}
