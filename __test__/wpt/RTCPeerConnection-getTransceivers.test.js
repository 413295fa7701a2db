'use strict';

require('./runner/suite')('RTCPeerConnection-getTransceivers.html');
