/**
 * Invitations and joining: signed invitation codes (invitation.ts), admission and
 * revocation records with their deterministic fold (admission.ts), the
 * `/tapestry/join/1.0.0` protocol (join-protocol.ts) and the NodeApi shapes
 * (api-types.ts).
 *
 * ```ts
 * const { code } = await createInvitation(steward, { tribeId, tribeName, swarmKey, expiresAt })
 * const parsed = parseInviteCode(code)
 * const record = await createAdmission(joiner, parsed, 'Ana')
 * const { admitted } = foldAdmissions({
 *   tribeId, isSteward: (m, q) => roster.wasStewardAt(m, q.at),
 *   admissions: [{ record, id: recordId(record) }], revocations: [],
 * })
 * ```
 */
export * from './admission.js'
export * from './api-types.js'
export * from './errors.js'
export * from './invitation.js'
export * from './join-protocol.js'
