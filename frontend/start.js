// Starts the app. Trunk would write this as an inline script in
// index.html, which a Content-Security-Policy without 'unsafe-inline'
// refuses; Trunk.toml's `pattern_script` loads this file instead and names
// the app's hashed files in its tag.
const tag = document.querySelector("script[data-roster-wasm]");
const { default: init } = await import(tag.dataset.rosterJs);
await init({ module_or_path: tag.dataset.rosterWasm });
