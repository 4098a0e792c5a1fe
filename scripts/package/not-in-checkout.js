// The checkout's `vscode:prepublish`, which vsce runs before packaging. Packaged from the checkout,
// a .vsix would hold every platform's onnxruntime-node binaries (its node_modules has all five, 290
// MB) and only this machine's sharp. scripts/package/build.ts packages in staging folders whose
// manifest has no scripts, so this never runs there.
console.error(
  'Package DLA Lens with `npm run package` (this platform) or `npm run package:all` (every platform), ' +
    'not with vsce in the checkout: see scripts/package/build.ts.',
);
process.exit(1);
