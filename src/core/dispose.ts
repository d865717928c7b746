/**
 * Symbol.dispose where the engine has it (Node ≥ 20.4, recent browsers), so
 * that `using x = …` frees wasm memory; elsewhere a registered stand-in.
 */
export const disposeSymbol: typeof Symbol.dispose = (Symbol.dispose ?? Symbol.for('Symbol.dispose')) as typeof Symbol.dispose;
