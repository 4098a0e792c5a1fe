/** A control's wrapper with its label: the same markup for the toolkit and the plain controls. */
export function labelled(id: string, label: string): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'control';
  const l = document.createElement('label');
  l.htmlFor = id;
  l.textContent = label;
  wrap.appendChild(l);
  return wrap;
}
