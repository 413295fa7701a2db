'use strict';

require('./runner/suite')('RTCPeerConnection-addTrack.https.html');
