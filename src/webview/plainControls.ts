import type { Control, Controls } from './controlTypes';
import { labelled } from './labelled';

/**
 * Native form controls with the same ids and callbacks as the toolkit's (controls.ts), for the
 * standalone HTML report: no web components, no VS Code theme, styled by media/report.css.
 */

export const plainControls: Controls = {
  dropdown(id, label, options, initial, onChange): Control<string> {
    const wrap = labelled(id, label);
    const el = document.createElement('select');
    el.id = id;
    for (const o of options) {
      const opt = document.createElement('option');
      opt.value = o.value;
      opt.textContent = o.label;
      opt.selected = o.value === initial;
      el.appendChild(opt);
    }
    el.addEventListener('change', () => onChange(el.value));
    wrap.appendChild(el);
    return { element: wrap, get value() { return el.value; }, set value(v) { el.value = v; } };
  },

  textField(id, label, initial, placeholder, onChange, opts = {}): Control<string> {
    const wrap = labelled(id, label);
    const el = document.createElement('input');
    el.type = 'text';
    el.id = id;
    el.placeholder = placeholder;
    if (opts.size) el.size = opts.size;
    el.value = initial;
    el.addEventListener('input', () => onChange(el.value));
    wrap.appendChild(el);
    return { element: wrap, get value() { return el.value; }, set value(v) { el.value = v; } };
  },

  checkbox(id, label, initial, onChange): Control<boolean> {
    const wrap = document.createElement('label');
    wrap.className = 'checkbox';
    const el = document.createElement('input');
    el.type = 'checkbox';
    el.id = id;
    el.checked = initial;
    el.addEventListener('change', () => onChange(el.checked));
    wrap.append(el, document.createTextNode(` ${label}`));
    return { element: wrap, get value() { return el.checked; }, set value(v) { el.checked = v; } };
  },

  button(id, label, onClick, appearance = 'secondary'): HTMLElement {
    const el = document.createElement('button');
    el.id = id;
    el.type = 'button';
    el.className = `button ${appearance}`;
    el.textContent = label;
    el.addEventListener('click', onClick);
    return el;
  },
};
