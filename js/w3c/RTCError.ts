/* webrtc-pc §11.1 RTCError: an OperationError with a WebRTC-specific detail. */

export const RTC_ERROR_DETAILS = [
  'data-channel-failure',
  'dtls-failure',
  'fingerprint-failure',
  'sctp-failure',
  'sdp-syntax-error',
  'hardware-encoder-not-available',
  'hardware-encoder-error',
] as const
export type RTCErrorDetailType = (typeof RTC_ERROR_DETAILS)[number]

export interface RTCErrorInit {
  errorDetail: RTCErrorDetailType
  sdpLineNumber?: number
  sctpCauseCode?: number
  receivedAlert?: number
  sentAlert?: number
  httpRequestStatusCode?: number
}

export class RTCError extends DOMException {
  readonly #errorDetail: RTCErrorDetailType
  readonly #sdpLineNumber: number | null
  readonly #sctpCauseCode: number | null
  readonly #receivedAlert: number | null
  readonly #sentAlert: number | null
  readonly #httpRequestStatusCode: number | null

  constructor(init: RTCErrorInit, message = '') {
    super(String(message), 'OperationError')
    if (init === null || typeof init !== 'object') throw new TypeError('RTCError needs an RTCErrorInit')
    const detail = init.errorDetail
    if (!(RTC_ERROR_DETAILS as readonly string[]).includes(detail)) throw new TypeError(`'${String(detail)}' is not a valid RTCErrorDetailType`)
    this.#errorDetail = detail
    this.#sdpLineNumber = init.sdpLineNumber ?? null
    this.#sctpCauseCode = init.sctpCauseCode ?? null
    this.#receivedAlert = init.receivedAlert ?? null
    this.#sentAlert = init.sentAlert ?? null
    this.#httpRequestStatusCode = init.httpRequestStatusCode ?? null
  }

  get errorDetail(): RTCErrorDetailType {
    return this.#errorDetail
  }

  get sdpLineNumber(): number | null {
    return this.#sdpLineNumber
  }

  get sctpCauseCode(): number | null {
    return this.#sctpCauseCode
  }

  get receivedAlert(): number | null {
    return this.#receivedAlert
  }

  get sentAlert(): number | null {
    return this.#sentAlert
  }

  get httpRequestStatusCode(): number | null {
    return this.#httpRequestStatusCode
  }
}
