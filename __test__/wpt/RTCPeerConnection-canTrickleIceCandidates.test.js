'use strict';

require('./runner/suite')('RTCPeerConnection-canTrickleIceCandidates.html');
