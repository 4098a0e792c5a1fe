import type { CheckpointData, checkpointProtocol } from '../../shared/checkpointProtocol';
import type { ViewTensorStats } from '../../shared/comparisonProtocol';
import type { ViewModule } from '../../shared/moduleView';
import { el, fmt, shape } from '../comparison/format';
import type { HostConnection } from '../messaging';

/**
 * The checkpoint editor's page: what the file is, which DLA variant and why, what is missing or
 * extra, the module tree, and every tensor with its stats on hover (computed by the host on first
 * hover and cached here: reading a tensor is cheap, computing stats of 22M parameters at once is not).
 */
export class CheckpointPage {
  private readonly app = document.getElementById('app')!;
  private readonly card = el('div', undefined, 'tooltip');
  private readonly stats = new Map<string, Promise<ViewTensorStats>>();

  constructor(private readonly host: HostConnection<typeof checkpointProtocol>) {
    this.card.id = 'tensor-card';
    this.card.hidden = true;
    document.body.appendChild(this.card);
  }

  async start(): Promise<void> {
    try {
      const reply = await this.host.request({ type: 'ready' });
      this.render(reply.data);
      document.body.dataset.ready = 'true';
    } catch (err) {
      this.app.removeAttribute('aria-busy');
      this.app.replaceChildren(el('p', `Could not read this file: ${(err as Error).message}`, 'bad error-box'));
    }
  }

  private render(d: CheckpointData): void {
    this.app.removeAttribute('aria-busy');
    this.app.className = 'checkpoint';
    const facts = el('table', undefined, 'facts');
    const row = (k: string, v: string, cls?: string) => {
      const r = facts.insertRow();
      r.append(el('th', k), el('td', v, cls));
    };
    row('file', d.file);
    row('format', d.format);
    row('variant', d.variant ?? 'not a known DLA variant', d.variant ? 'good' : 'bad');
    row('why', d.variantReason);
    row('parameters', d.parameters.toLocaleString('en-US'));
    row('tensors', String(d.tensors.length));
    if (d.renamed.length) row('renamed', `${d.renamed.length} Paddle names read as timm names (e.g. ${d.renamed[0][0]} → ${d.renamed[0][1]})`);
    for (const [k, v] of Object.entries(d.metadata)) row(`metadata: ${k}`, v);
    row('read in', `${d.readMs.toFixed(0)} ms`);
    const parts: HTMLElement[] = [el('h1', d.file.split(/[\\/]/).pop() ?? d.file), facts];

    parts.push(...this.problems(d));
    if (d.tree) {
      const tree = el('details', undefined, 'module-tree');
      tree.id = 'module-tree';
      tree.append(el('summary', `Module tree of ${d.variant}`), moduleList(d.tree));
      parts.push(tree);
    }
    parts.push(el('h2', 'Tensors'), this.tensorTable(d));
    this.app.replaceChildren(...parts);
  }

  private problems(d: CheckpointData): HTMLElement[] {
    const out: HTMLElement[] = [];
    const list = (title: string, id: string, items: string[], cls: string) => {
      if (items.length === 0) return;
      const s = el('section', undefined, `problems ${cls}`);
      s.id = id;
      const ul = el('ul');
      for (const i of items.slice(0, 200)) ul.appendChild(el('li', i));
      if (items.length > 200) ul.appendChild(el('li', `… and ${items.length - 200} more`));
      s.append(el('h2', `${title} (${items.length})`), ul);
      out.push(s);
    };
    list('Missing keys', 'missing', d.missing.map((m) => `${m.name} ${shape(m.expected)}`), 'bad');
    list('Unexpected keys', 'unexpected', d.unexpected.map((u) => `${u.name} ${shape(u.shape)}`), 'bad');
    list('Shape mismatches', 'mismatched', d.mismatched.map((m) => `${m.name}: expected ${shape(m.expected)}, found ${shape(m.found)}`), 'bad');
    list('Known unused (original DLA project layers)', 'known-unused', [...d.knownUnused], 'muted');
    return out;
  }

  private tensorTable(d: CheckpointData): HTMLTableElement {
    const t = el('table', undefined, 'tensors');
    t.id = 'tensors';
    const h = t.createTHead().insertRow();
    for (const c of ['name', 'dtype', 'shape']) h.appendChild(el('th', c));
    const body = t.createTBody();
    for (const x of d.tensors) {
      const r = body.insertRow();
      r.dataset.name = x.name;
      r.append(el('td', x.name, 'mono'), el('td', x.dtype), el('td', shape(x.shape), 'mono'));
      r.addEventListener('mouseenter', (e) => void this.hover(x.name, e));
      r.addEventListener('mouseleave', () => (this.card.hidden = true));
    }
    return t;
  }

  private async hover(name: string, e: MouseEvent): Promise<void> {
    const row = e.currentTarget as HTMLElement;
    const rect = row.getBoundingClientRect();
    this.card.replaceChildren(el('strong', name), el('div', 'computing stats…', 'muted'));
    this.card.style.left = `${Math.min(rect.left + 40, window.innerWidth - 320)}px`;
    this.card.style.top = `${rect.bottom + 2}px`;
    this.card.hidden = false;
    let p = this.stats.get(name);
    if (!p) {
      p = this.host.request({ type: 'getTensorStats', name }).then((r) => r.stats);
      this.stats.set(name, p);
      p.catch(() => this.stats.delete(name));
    }
    try {
      const s = await p;
      if (this.card.hidden || this.card.firstChild?.textContent !== name) return;
      const tbl = el('table', undefined, 'tt-stats');
      for (const [k, v] of [['shape', shape(s.shape)], ['mean', fmt(s.mean)], ['std', fmt(s.std)], ['min', fmt(s.min)], ['max', fmt(s.max)], ['NaN / Inf', `${s.nan} / ${s.inf}`]] as const) {
        const r = tbl.insertRow();
        r.append(el('th', k), el('td', v));
      }
      this.card.replaceChildren(el('strong', name), tbl);
    } catch (err) {
      this.card.replaceChildren(el('strong', name), el('div', (err as Error).message, 'bad'));
    }
  }
}

function moduleList(m: ViewModule): HTMLElement {
  const ul = el('ul');
  for (const c of m.children) {
    const li = el('li');
    const label = `${c.name} `;
    if (c.children.length) {
      const det = el('details');
      // Stages open by default: the DLA structure at a glance, leaves one click away.
      det.open = c.role === 'stage' || c.role === 'model';
      const sum = el('summary');
      sum.append(el('span', label, 'mono'), el('span', c.kind, 'muted'));
      sum.title = c.id;
      det.append(sum, moduleList(c));
      li.appendChild(det);
    } else {
      li.append(el('span', label, 'mono'), el('span', c.kind, 'muted'));
      li.title = c.id;
    }
    ul.appendChild(li);
  }
  return ul;
}
