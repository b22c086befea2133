import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard's build: `npm run build:dashboard` writes `dashboard/dist/`, which the gateway
 * serves at /dashboard (src/http/dashboard-route.ts). Everything is bundled: no CDN, and no
 * inline script, so the page runs under a CSP of `script-src 'self'`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Asset URLs are relative to /dashboard/, where the gateway serves the build.
  base: '/dashboard/',
  // Preact's automatic JSX runtime, without a plugin (no fast refresh needed: no dev server).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The module-preload polyfill would be an inline script; every browser we support has it.
    modulePreload: { polyfill: false },
    // One bundle for the app: it is small (budget 250 KB gzipped, measured in the README).
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
