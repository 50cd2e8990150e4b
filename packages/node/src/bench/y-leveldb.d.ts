/**
 * y-leveldb 0.2 ships types at dist/src/y-leveldb.d.ts but its package.json "exports" hides
 * them from NodeNext resolution; this declares the part the bench uses.
 */
declare module 'y-leveldb' {
  export class LeveldbPersistence {
    constructor(location: string, opts?: { Level?: unknown; levelOptions?: object })
    storeUpdate(docName: string, update: Uint8Array): Promise<number>
    getYDoc(docName: string): Promise<import('yjs').Doc>
    flushDocument(docName: string): Promise<void>
    destroy(): Promise<void>
  }
}
