/* Validation shared by the plain-RTP classes (UdpRtpSource, RtpForwarder). */

/** Codec names accepted by the native media (src/media/codec.rs). */
export type RtpCodecName = 'opus' | 'pcmu' | 'pcma' | 'g722'

const CODECS: ReadonlySet<string> = new Set(['opus', 'pcmu', 'pcma', 'g722'])

export function codecName(value: unknown, fallback?: RtpCodecName): RtpCodecName {
  if (value === undefined && fallback !== undefined) return fallback
  const name = typeof value === 'string' ? value.toLowerCase() : value
  if (typeof name !== 'string' || !CODECS.has(name)) {
    throw new TypeError(`codec must be one of ${[...CODECS].join(', ')}`)
  }
  return name as RtpCodecName
}

export function address(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError('address must be a non-empty string')
  return value
}

export function integerIn(value: unknown, name: string, min: number, max: number): number
export function integerIn(value: unknown, name: string, min: number, max: number, optional: true): number | undefined
export function integerIn(value: unknown, name: string, min: number, max: number, optional = false): number | undefined {
  if (value === undefined && optional) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer in [${min}, ${max}]`)
  }
  return value
}
