import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// One workspace config: `npm test` at the root runs every package's tests.
// Packages import each other by name; tests resolve those names to source so
// they never run against a stale build.
const src = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: {
      '@tapestry/crdt-schema': src('crdt-schema'),
      '@tapestry/node': src('node'),
    },
  },
  test: {
    projects: [
      { extends: true, test: { name: 'crdt-schema', root: 'packages/crdt-schema' } },
      {
        extends: true,
        test: {
          name: 'node',
          root: 'packages/node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Builds once: the CLI tests run the real binary (dist/), never a stale one.
          globalSetup: ['test/helpers/build.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'desktop',
          root: 'packages/desktop',
          testTimeout: 90_000,
          hookTimeout: 90_000,
          // Builds the node (tsc -b) and the renderer (vite build) once: the browser tests
          // drive the real `tapestry ui` serving the real bundle.
          globalSetup: ['test/helpers/build.ts'],
          // Each browser test file runs its own Chromium and nodes: two at a time on 2 cores,
          // in a group of their own after the other packages' tests (vitest needs a
          // separate group for a project with its own maxWorkers).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
    include: ['test/**/*.test.ts'],
  },
})
