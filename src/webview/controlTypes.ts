/**
 * The form controls a page is built from, as plain DOM elements and callbacks. Two sets implement
 * it: the @vscode/webview-ui-toolkit one in the extension's webviews (controls.ts, the only module
 * that knows the deprecated toolkit) and a native one for the standalone HTML report
 * (plainControls.ts), which has no VS Code theme to borrow.
 */
export interface Control<T> {
  readonly element: HTMLElement;
  get value(): T;
  set value(v: T);
}

export interface Controls {
  dropdown(id: string, label: string, options: readonly { value: string; label: string }[], initial: string, onChange: (v: string) => void): Control<string>;
  textField(id: string, label: string, initial: string, placeholder: string, onChange: (v: string) => void, opts?: { size?: number }): Control<string>;
  checkbox(id: string, label: string, initial: boolean, onChange: (v: boolean) => void): Control<boolean>;
  button(id: string, label: string, onClick: () => void, appearance?: 'primary' | 'secondary'): HTMLElement;
}
