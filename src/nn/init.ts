// Torch-style parameter initialisation from a seedable generator.
// The generator is xoshiro128** seeded through splitmix32; normals come from
// Box–Muller. It does not reproduce torch's own random stream (which no one
// can rely on across torch versions either), only its distributions.

export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed: number) {
    this.seed(seed);
  }

  seed(seed: number): void {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spare = null;
  }

  /** Uniform in [0, 1), 32 bits of entropy. */
  random(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator, like torch's: a fixed seed in a fresh process. */
export const defaultGenerator = new Generator(0x2545f491);

/** Re-seeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  // The generator takes 32 bits: a larger or fractional seed would silently repeat another's numbers.
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    const got = typeof seed === 'number' ? `number ${seed}` : seed === null ? 'null' : typeof seed;
    const Kind = typeof seed === 'number' ? RangeError : TypeError;
    throw new Kind(`manualSeed: seed: expected an integer in [0, ${2 ** 32 - 1}], got ${got}`);
  }
  defaultGenerator.seed(seed);
}

/** torch's fan computation: dims (out, in, *receptive). */
function fans(dims: readonly number[]): [number, number] {
  const receptive = dims.slice(2).reduce((a, b) => a * b, 1);
  const fanIn = (dims.length > 1 ? dims[1] : dims[0]) * receptive;
  const fanOut = dims[0] * receptive;
  return [fanIn, fanOut];
}

/** nn.init.xavier_uniform_ */
export function xavierUniform(g: Generator, dims: readonly number[]): Float32Array {
  const [fanIn, fanOut] = fans(dims);
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return uniform(g, dims, bound);
}

/** nn.init.xavier_normal_ */
export function xavierNormal(g: Generator, dims: readonly number[]): Float32Array {
  const [fanIn, fanOut] = fans(dims);
  const std = Math.sqrt(2 / (fanIn + fanOut));
  const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = g.normal() * std;
  return out;
}

/** nn.Linear's weight: kaiming_uniform_(a = √5), i.e. U(±1/√fan_in). */
export function linearWeight(g: Generator, dims: readonly number[]): Float32Array {
  return uniform(g, dims, 1 / Math.sqrt(fans(dims)[0]));
}

function uniform(g: Generator, dims: readonly number[], bound: number): Float32Array {
  const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = (2 * g.random() - 1) * bound;
  return out;
}
