'use strict';

require('./runner/suite')('RTCPeerConnection-onnegotiationneeded.html');
