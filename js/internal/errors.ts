/*
 * W3C errors. Native failures carry a structured code (never inspect message
 * text): `errorCode` on result events, and napi-rs's `code` on errors thrown by
 * synchronous native calls (napi::Error::new("InvalidStateError", ...)).
 */

import { RTCError, type RTCErrorInit } from '../w3c/RTCError'

export type NativeErrorCode =
  | 'InvalidStateError'
  | 'InvalidAccessError'
  | 'OperationError'
  | 'InvalidModificationError'
  | 'TypeError'
  | 'SdpSyntaxError'

/** DOMException names the native side may use besides the contract's five. */
const DOM_EXCEPTION_NAMES: ReadonlySet<string> = new Set([
  'InvalidStateError',
  'InvalidAccessError',
  'OperationError',
  'InvalidModificationError',
  'NotSupportedError',
  'SyntaxError',
  'NotFoundError',
])

export function invalidState(message: string): DOMException {
  return new DOMException(message, 'InvalidStateError')
}

export function invalidAccess(message: string): DOMException {
  return new DOMException(message, 'InvalidAccessError')
}

export function operationError(message: string): DOMException {
  return new DOMException(message, 'OperationError')
}

export function invalidModification(message: string): DOMException {
  return new DOMException(message, 'InvalidModificationError')
}

export function notSupported(message: string): DOMException {
  return new DOMException(message, 'NotSupportedError')
}

export function syntaxError(message: string): DOMException {
  return new DOMException(message, 'SyntaxError')
}

/**
 * napi-rs statuses thrown by synchronous native calls: `InvalidArg` (a value the native
 * side refuses, e.g. a localAddresses entry that is no IP address) and the
 * `…Expected` conversion failures are WebIDL type errors.
 */
function napiStatusCode(code: string | undefined): string | undefined {
  if (code === 'InvalidArg' || (code !== undefined && code.endsWith('Expected'))) return 'TypeError'
  return code
}

/** Builds the W3C error for a native error code; unknown or missing codes become OperationError. */
export function fromNativeCode(code: string | undefined, message: string | undefined, sdpLineNumber?: number | null): Error {
  const text = message ?? 'native operation failed'
  if (code === 'TypeError') return new TypeError(text)
  if (code === 'SdpSyntaxError') {
    const init: RTCErrorInit = { errorDetail: 'sdp-syntax-error' }
    if (sdpLineNumber != null) init.sdpLineNumber = sdpLineNumber
    return new RTCError(init, text)
  }
  if (code !== undefined && DOM_EXCEPTION_NAMES.has(code)) return new DOMException(text, code)
  return operationError(text)
}

function stringField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = (value as Record<string, unknown>)[field]
  return typeof v === 'string' ? v : undefined
}

/**
 * Maps an error thrown by a synchronous native call. Errors without a W3C code
 * (e.g. napi argument conversion failures) are passed through unchanged so
 * their diagnostics are not lost.
 */
export function fromNativeThrow(err: unknown): Error {
  const code = napiStatusCode(stringField(err, 'errorCode') ?? stringField(err, 'code'))
  if (code !== undefined && (code === 'TypeError' || code === 'SdpSyntaxError' || DOM_EXCEPTION_NAMES.has(code))) {
    return fromNativeCode(code, stringField(err, 'message'))
  }
  return err instanceof Error ? err : operationError(String(err))
}

/** Runs a synchronous native call, translating its error into a W3C error. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw fromNativeThrow(err)
  }
}
