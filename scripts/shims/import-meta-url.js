// Injected into the CommonJS bundle, where `import.meta.url` is defined as
// this: the bundle's own file URL, so the wasm beside it is found.
export const import_meta_url = require('node:url').pathToFileURL(__filename).href;
