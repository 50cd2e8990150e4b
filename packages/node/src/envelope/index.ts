/**
 * The envelope layer: the only code that turns a local Yjs change into bytes that leave
 * the process (coalescer → sign → codec) and the only code that accepts a remote one
 * (codec → acceptEnvelope).
 *
 * @example
 * ```ts
 * const doc = new Y.Doc()
 * doc.clientID = clientIdFor(me.publicKey, me.writerId)
 * const writer = new EnvelopeCoalescer({ doc, docId, signer: me, highestSeq: 0, persist })
 * doc.getText('body').insert(0, 'hello')
 * await writer.flush() // durable: safe to acknowledge
 * const outcome = acceptEnvelope(decodeEnvelope(bytes), ctx) // on the receiving node
 * ```
 */
export * from './acceptance.js'
export * from './client-ids.js'
export * from './coalescer.js'
export * from './codec.js'
export * from './errors.js'
export * from './sign.js'
export * from './types.js'
