'use strict';

require('./runner/suite')('RTCPeerConnection-addIceCandidate.html');
