import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The GraphQL IDE's build: `npm run build:ide` writes `ide/dist/`, which the gateway serves at
 * /graphiql and at GET /graphql for browsers (src/http/ide-route.ts). GraphiQL, React and Monaco
 * (with its workers) are bundled from node_modules: nothing comes from a CDN.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Asset URLs are absolute under /graphiql/, so the page works at /graphql too.
  base: '/graphiql/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The module-preload polyfill would be an inline script (the page's CSP allows none).
    modulePreload: { polyfill: false },
    // Monaco's language bundles are large by nature; they load on demand.
    chunkSizeWarningLimit: 8000,
    reportCompressedSize: false,
    rolldownOptions: {
      // framer-motion (a GraphiQL dependency) marks modules "use client", which means nothing
      // outside React Server Components; the bundler's note about dropping it is noise here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
