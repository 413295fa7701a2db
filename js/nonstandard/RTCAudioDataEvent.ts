/*
 * The 'data' event of RTCAudioSink. node-webrtc/wrtc hands listeners a plain
 * object {type:'data', samples, sampleRate, bitsPerSample, channelCount,
 * numberOfFrames}; Node's EventTarget only dispatches Event instances, so the
 * same fields are own properties of an Event subclass (destructuring works).
 */

/** What one 10 ms frame's event carries. */
export interface RTCAudioFrame {
  samples: Int16Array
  sampleRate: number
  channelCount: number
  numberOfFrames: number
}

export class RTCAudioDataEvent extends Event {
  readonly samples: Int16Array
  readonly sampleRate: number
  readonly bitsPerSample: 16 = 16
  readonly channelCount: number
  readonly numberOfFrames: number

  constructor(frame: RTCAudioFrame) {
    super('data')
    this.samples = frame.samples
    this.sampleRate = frame.sampleRate
    this.channelCount = frame.channelCount
    this.numberOfFrames = frame.numberOfFrames
  }
}
