/**
 * IEEE 754 binary16 (float16) conversion, for writing float16 initializers and reading float16 model
 * outputs. Node 20 has no `Float16Array`, and onnxruntime-web 1.30 returns float16 tensor data as a
 * Uint16Array of raw bits where `Float16Array` is missing, so both directions work on bit patterns.
 */

/** Largest finite float16 value, (2 − 2⁻¹⁰)·2¹⁵. */
export const FLOAT16_MAX = 65_504;

const float32Scratch = new Float32Array(1);
const float32ScratchBits = new Uint32Array(float32Scratch.buffer);

/**
 * Converts one float32 bit pattern to float16 bits, rounding to nearest with ties to even. Values from
 * 65520 up in magnitude become ±Infinity, values from 2⁻²⁵ up to the smallest normal become subnormals,
 * and smaller ones become ±0. NaN stays a quiet NaN with the top bits of its payload.
 */
function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7f_ffff;

  if (exponent === 0xff) {
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }

  // Rebias from float32 (127) to float16 (15).
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;

  if (halfExponent <= 0) {
    // Subnormal float16: the value in units of 2⁻²⁴ is the 24-bit significand shifted right by 14 − halfExponent.
    const shift = 14 - halfExponent;
    if (shift > 24) return sign;
    const significand = mantissa | 0x80_0000;
    return sign | roundShiftRight(significand, shift);
  }

  // Normal float16. A carry out of the 10-bit mantissa moves into the exponent, which also turns the
  // largest values into Infinity (0x7c00).
  return sign | ((halfExponent << 10) + roundShiftRight(mantissa, 13));
}

/** Returns `value >>> shift` rounded to nearest, ties to even. `shift` is from 1 to 24. */
function roundShiftRight(value: number, shift: number): number {
  const truncated = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (remainder > halfway || (remainder === halfway && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}

/**
 * Converts a number to float16 bits. The number is first rounded to float32, as storing it in a
 * Float32Array does, and then to float16 with round-to-nearest-even.
 */
export function float32ToFloat16Bits(value: number): number {
  float32Scratch[0] = value;
  return float32BitsToFloat16Bits(float32ScratchBits[0]);
}

/**
 * Converts every float32 value to float16 bits with round-to-nearest-even. Writes into `target` when
 * given, which must have the same length, and returns it. Throws RangeError on a length mismatch.
 */
export function float32ArrayToFloat16Bits(values: Float32Array, target: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  if (target.length !== values.length) {
    throw new RangeError(`Cannot convert ${values.length} float32 values into a float16 target of length ${target.length}: the lengths must match.`);
  }
  // A Uint32Array view needs 4-byte alignment, which every Float32Array has.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let index = 0; index < bits.length; index += 1) {
    target[index] = float32BitsToFloat16Bits(bits[index]);
  }
  return target;
}

/** Returns the exact value of float16 bits. Every float16 value, subnormals included, is exact in float32. */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Converts float16 bits, such as the data of a float16 onnxruntime-web tensor where `Float16Array` is
 * missing, to float32 values. The conversion is exact.
 */
export function float16ToFloat32Array(bits: Uint16Array): Float32Array {
  const values = new Float32Array(bits.length);
  for (let index = 0; index < bits.length; index += 1) {
    values[index] = float16BitsToNumber(bits[index]);
  }
  return values;
}
