// ESM entry point: the implementation is the CommonJS build in dist/.
import cjs from '../dist/index.js'

export const {
  GstPeerConnection,
  RTCPeerConnection,
  RTCSessionDescription,
  RTCIceCandidate,
  MediaStream,
  MediaStreamTrack,
  MediaStreamTrackEvent,
  RTCRtpSender,
  RTCRtpReceiver,
  RTCRtpTransceiver,
  RTCPeerConnectionIceEvent,
  RTCTrackEvent,
  RTCStatsReport,
  ToneSource,
  AudioMixer,
  MixerInput,
  UdpRtpSource,
  RtpForwarder,
  FileSource,
  TrackRecorder,
  AudioPlayer,
  AudioPlayerEvent,
  VoiceProcessor,
  VoiceActivityEvent,
  nonstandard,
  installGlobals,
} = cjs

export default cjs
