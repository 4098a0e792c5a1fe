/**
 * The only module that knows about @vscode/webview-ui-toolkit. The toolkit is deprecated upstream;
 * replacing it means rewriting this file and nothing else, so callers get plain DOM elements and
 * callbacks, never toolkit types.
 */
import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDropdown, vsCodeOption, vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import type { Control, Controls } from './controlTypes';
import { labelled } from './labelled';

let registered = false;
function register(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField());
}

export type { Control, Controls } from './controlTypes';

export function dropdown(id: string, label: string, options: readonly { value: string; label: string }[], initial: string, onChange: (v: string) => void): Control<string> {
  register();
  const wrap = labelled(id, label);
  const el = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  el.id = id;
  for (const o of options) {
    const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
    opt.setAttribute('value', o.value);
    opt.textContent = o.label;
    if (o.value === initial) opt.setAttribute('selected', '');
    el.appendChild(opt);
  }
  el.addEventListener('change', () => onChange(el.value));
  wrap.appendChild(el);
  return { element: wrap, get value() { return el.value; }, set value(v) { el.value = v; } };
}

export function textField(id: string, label: string, initial: string, placeholder: string, onChange: (v: string) => void, opts: { size?: number } = {}): Control<string> {
  register();
  const wrap = labelled(id, label);
  const el = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  el.id = id;
  el.setAttribute('placeholder', placeholder);
  if (opts.size) el.setAttribute('size', String(opts.size));
  el.setAttribute('value', initial);
  // 'change' fires on Enter or blur; 'input' on every keystroke: searching wants the latter.
  el.addEventListener('input', () => onChange(el.value));
  wrap.appendChild(el);
  return { element: wrap, get value() { return el.value; }, set value(v) { el.value = v; } };
}

export function checkbox(id: string, label: string, initial: boolean, onChange: (v: boolean) => void): Control<boolean> {
  register();
  const el = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  el.id = id;
  el.textContent = label;
  if (initial) el.setAttribute('checked', '');
  el.addEventListener('change', () => onChange(el.checked));
  return { element: el, get value() { return el.checked; }, set value(v) { el.checked = v; } };
}

export function button(id: string, label: string, onClick: () => void, appearance: 'primary' | 'secondary' = 'secondary'): HTMLElement {
  register();
  const el = document.createElement('vscode-button');
  el.id = id;
  el.setAttribute('appearance', appearance);
  el.textContent = label;
  el.addEventListener('click', onClick);
  return el;
}

/** This module as a Controls set, for pages that are handed their controls. */
export const toolkitControls: Controls = { dropdown, textField, checkbox, button };
