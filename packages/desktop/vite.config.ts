import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The renderer: one page, one script, one stylesheet (every URL the page loads carries
// the `tapestry ui` token, which the server adds to index.html's own references).
export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  base: './',
  publicDir: fileURLToPath(new URL('./src/renderer/public', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    modulePreload: false,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
})
