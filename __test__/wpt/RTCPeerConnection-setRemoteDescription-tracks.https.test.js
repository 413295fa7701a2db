'use strict';

require('./runner/suite')('RTCPeerConnection-setRemoteDescription-tracks.https.html');
