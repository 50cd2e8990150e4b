/**
 * The data `tapestry ui` serves to the renderer and the views its /api/rpc methods
 * return: the node's own types (types only, so no node code reaches the bundle).
 */
export type * from '@tapestry/node/ui-wire'
