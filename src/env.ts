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
};
