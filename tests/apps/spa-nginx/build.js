// A single-page app's "build": writes dist/ as a bundler would
// (tests/e2e/base_os.bats serves it with nginx).
const fs = require('fs');
fs.mkdirSync('dist/assets', { recursive: true });
fs.writeFileSync('dist/index.html', '<!DOCTYPE html><html><body><div id="app">spa index</div>' +
  '<script src="/assets/app.js"></script></body></html>\n');
fs.writeFileSync('dist/assets/app.js', 'document.title = "spa";\n');
