import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { scanForMarkers } from '../../src/chaos/disk-scan.js'

export const tempDir = (prefix = 'tapestry-store-'): Promise<string> =>
  mkdtemp(join(tmpdir(), prefix))

export const removeDir = (dir: string): Promise<void> =>
  rm(dir, { recursive: true, force: true, maxRetries: 3 })

/** Every file under `dir` with its bytes. */
export async function readAllFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.set(path.slice(dir.length + 1), await readFile(path))
  }
  return out
}

/**
 * Names of the files under `dir` that contain `marker`, in their raw bytes or decoded
 * (LevelDB's Snappy-compressed table blocks and log records): compression can turn a
 * marker into back-references, so raw bytes alone would miss it.
 */
export async function filesContaining(dir: string, marker: string): Promise<string[]> {
  return ((await scanForMarkers(dir, [marker])).get(marker) ?? []).sort()
}

/** The package root: a child started there resolves `classic-level` like the package. */
const packageRoot = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Starts `node` running `script` (an ES module using `classic-level`) that opens the
 * store in `dir`, runs `script`, prints `ready` and then stays alive until killed.
 */
export async function holdStoreInChild(
  dir: string,
  script = '',
): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | number | null> }> {
  const code = `
    import { ClassicLevel } from 'classic-level'
    const db = new ClassicLevel(process.argv[1], { valueEncoding: 'view' })
    await db.open()
    ${script}
    process.stdout.write('ready\\n')
    setInterval(() => {}, 1 << 30)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, dir], {
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  )
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('ready\n')) resolve()
    })
    exited.then((c) => reject(new Error(`child exited (${String(c)}) before ready: ${stderr}`)))
  })
  return { child, exited }
}

/**
 * Transpiles src/store/*.ts into `outDir/store/*.js` (with a `node_modules` link so its
 * imports resolve), so that a plain `node` child process can run the real store.
 * Returns the file URL of the store's index.
 */
export async function buildStoreForChild(outDir: string): Promise<string> {
  const srcDir = join(packageRoot, 'src', 'store')
  const dest = join(outDir, 'store')
  await mkdir(dest, { recursive: true })
  for (const name of await readdir(srcDir)) {
    if (!name.endsWith('.ts')) continue
    const source = await readFile(join(srcDir, name), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    })
    await writeFile(join(dest, name.replace(/\.ts$/, '.js')), outputText)
  }
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}')
  const classicLevel = createRequire(join(packageRoot, 'package.json')).resolve('classic-level')
  const nodeModules = classicLevel.slice(0, classicLevel.lastIndexOf('node_modules') + 12)
  await symlink(nodeModules, join(outDir, 'node_modules'), 'dir')
  return pathToFileURL(join(dest, 'index.js')).href
}

/** Starts `node` on an ES module source text, with stdout piped; `args` become argv[1..]. */
export function spawnModule(source: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', source, ...args], {
    cwd: dirname(packageRoot),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}
