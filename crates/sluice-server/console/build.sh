#!/bin/sh
# Rebuilds the console's bundle (dist/console.js) from src/ with the locked
# packages. The bundle is committed: building Sluice needs no Node.js.
set -e
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npx esbuild src/main.js --bundle --minify --format=esm --target=es2020 --legal-comments=eof --outfile=dist/console.js
ls -l dist/console.js
