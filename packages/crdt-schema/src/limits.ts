/**
 * Size limits. Every value read from a peer is checked against these; a value
 * over a limit yields an {@link OversizedError}. Lengths of strings are counted
 * in UTF-16 code units (JavaScript `length`, the same unit as `Y.Text.length`).
 */

/** Narrative title. */
export const MAX_TITLE_CHARS = 200
/** Narrative body (`Y.Text`): 1 MiB of UTF-16 code units. */
export const MAX_BODY_CHARS = 1024 * 1024
/** Echo body (`Y.Text`). */
export const MAX_ECHO_BODY_CHARS = 64 * 1024
/** Tags per narrative. */
export const MAX_TAGS = 32
/** Characters per tag. */
export const MAX_TAG_CHARS = 40
/** Mood: a free string (see `SUGGESTED_MOODS`). */
export const MAX_MOOD_CHARS = 40
/** Authors of one narrative. */
export const MAX_AUTHORS = 64
/** Member names, tribe names. */
export const MAX_NAME_CHARS = 100
/** Members named by one `circle` audience. */
export const MAX_CIRCLE_MEMBERS = 256
/** Members (current and former) listed in a roster. */
export const MAX_ROSTER_MEMBERS = 10_000
/** Removal entries in a roster. */
export const MAX_REMOVALS = 10_000
/** Writers named in one removal cut-off. */
export const MAX_CUTOFF_WRITERS = 65_536
/** Characters of a writer key in a cut-off. */
export const MAX_WRITER_KEY_CHARS = 128
/** Swarm-key epochs in a roster. */
export const MAX_EPOCHS = 10_000
/** Characters of one sealed swarm key (opaque base64). */
export const MAX_SEALED_KEY_CHARS = 512
/** Revoked invitations in a roster. */
export const MAX_REVOKED_INVITATIONS = 10_000
/** Characters of an invitation id. */
export const MAX_INVITATION_ID_CHARS = 128
/** Consent statements kept in a profile's history. */
export const MAX_CONSENT_HISTORY = 4_096
/** Bytes of one encoded authority record. */
export const MAX_RECORD_BYTES = 64 * 1024
/** Bytes of one Yjs update accepted by `applyPeerUpdate`. */
export const MAX_UPDATE_BYTES = 16 * 1024 * 1024
/** Characters of any document id. */
export const MAX_DOC_ID_CHARS = 64
