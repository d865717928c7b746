// Flags that tune the package, in one place. Change them before a call;
// each is read when it is needed.

export const env = {
  /**
   * How many attention scores one head holds at a time: the query rows of a
   * block times the keys (P). About L2-sized; more costs cache, less costs
   * calls. Weights, when asked for, are written block by block as they pass.
   * @defaultValue 32768
   */
  scoreBlockFloats: 32768,

  /**
   * Linformer's order of projections, which are equal up to rounding:
   * 'keys' in-projects every key and value, then projects them along the
   * sequence (the paper's order); 'inputs' projects the raw inputs along the
   * sequence, then in-projects only the k projected rows. 'auto' takes
   * whichever costs fewer multiply-adds for the call's sizes.
   * @defaultValue 'auto'
   */
  sequenceProjection: 'auto' as 'auto' | 'inputs' | 'keys',
};
