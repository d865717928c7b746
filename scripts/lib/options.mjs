// Command-line options of the repo's scripts (fuzz, soak).

/** The integer after `--name` in `args`, or `fallback` when it is not given. */
export function integerOption(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: expected a non-negative integer, got '${args[i + 1]}'`);
  return v;
}
