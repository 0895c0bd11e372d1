// The numbers the kernel keeps for the knock trie, bit by bit. A source's
// progress (the `progress` map, loaded into `meta mark`) is a node id or, at
// the end of a sequence, a leaf mark; `leaf_action` turns a leaf's class into
// an action word.
//
// | word        | bits                                                                      |
// |-------------|---------------------------------------------------------------------------|
// | node id     | 31: 0 · 30: FIRST_STEP_FLAG (a child of the root) · 0–29: id, 1 … 2^30 − 1 |
// | leaf mark   | 31: FINAL_FLAG · 30: ONE_TIME_FLAG · 22–29: action class · 0–21: leaf id  |
// | action word | 30: ACTION_CLOSE · 29: ACTION_TOGGLE · 0–23: services (bit i: service i)  |
//
// The kernel keeps a source's progress at a first step only briefly, so a flood
// of forged first steps cannot fill the progress map for long. A leaf mark's class indexes
// `leaf_action`, so that map holds one element per kind of action (≤ 256), not
// one per sequence, and a rotation never touches it.
import type { KnockAction } from '../plan/entries.js';

/** Marks a state as the end of a sequence (a leaf). */
export const FINAL_FLAG = 0x8000_0000;
/** Set on leaves of one-time sequences: the kernel consumes them at first use. */
export const ONE_TIME_FLAG = 0x4000_0000;
export const LEAF_CLASS_SHIFT = 22;
export const LEAF_CLASS_MASK = 0x3fc0_0000;
export const MAX_LEAF_CLASSES = 256;
export const LEAF_ID_MASK = 0x003f_ffff;
/** Set on the id of a first-step node (a child of the root). */
export const FIRST_STEP_FLAG = 0x4000_0000;
export const NODE_ID_MAX = 0x3fff_ffff;

/** Action word of a leaf, as the kernel's `leaf_action` map returns it. */
export const ACTION_CLOSE = 0x4000_0000;
export const ACTION_TOGGLE = 0x2000_0000;
export const SERVICE_MASK_BITS = 24;

/** Is this state the end of a sequence? */
export const isLeaf = (state: number): boolean => (state & FINAL_FLAG) !== 0;

/** The class bits of a leaf mark: the key of its `leaf_action` element. */
export const classKey = (actionClass: number): number => (actionClass << LEAF_CLASS_SHIFT) >>> 0;

export function actionWord(action: KnockAction, serviceMask: number): number {
  const flag = action === 'close' ? ACTION_CLOSE : action === 'toggle' ? ACTION_TOGGLE : 0;
  return (flag | (serviceMask & ((1 << SERVICE_MASK_BITS) - 1))) >>> 0;
}
