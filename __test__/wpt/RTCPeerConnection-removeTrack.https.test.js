'use strict';

require('./runner/suite')('RTCPeerConnection-removeTrack.https.html');
