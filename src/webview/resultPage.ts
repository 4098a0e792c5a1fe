import type { AnyProtocol } from '../shared/channel';
import { el } from './comparison/format';
import { vscodeApi } from './vscodeApi';

/**
 * What the result pages (classification, preprocessing comparison, evaluation) do alike: ask for
 * their result with Ready and render it, or say why they cannot; and keep each result they render
 * in their state under the page's name (its protocol's `page`), where the host's serializer
 * (src/extension/resultViews.ts) looks for it after a window reload.
 */
export async function startResultPage<D>(load: () => Promise<D>, render: (d: D) => void, what: string): Promise<void> {
  try {
    render(await load());
  } catch (err) {
    const app = document.getElementById('app')!;
    app.removeAttribute('aria-busy');
    app.replaceChildren(el('p', `Could not show the ${what}: ${(err as Error).message}`, 'bad error-box'));
  }
}

/** Keeps the result shown for a reload, and clears the page's loading mark. */
export function keepResult<D>(protocol: AnyProtocol, d: D): HTMLElement {
  vscodeApi<Record<string, D>>().setState({ [protocol.page]: d });
  const app = document.getElementById('app')!;
  app.removeAttribute('aria-busy');
  return app;
}
